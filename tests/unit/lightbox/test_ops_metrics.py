"""Metrics and JSON logs: pure code, no servers."""

from __future__ import annotations

import json
import logging
from unittest import mock

from prometheus_client import REGISTRY, generate_latest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from lightbox.apigateway.streaming import CountedStream
from lightbox.logs import JsonFormatter, trace_id
from lightbox.ops import metrics
from lightbox.runtime import metrics as runtime_metrics
from lightbox.sqs.queues import Broker


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_invocations_errors_and_durations_are_counted_per_function_and_trigger_kind() -> None:
    before = _sample("lightbox_invocations_total", function="MetricsFn", trigger="sqs")
    errors_before = _sample("lightbox_invocation_errors_total", function="MetricsFn", error="ValueError")
    runtime_metrics.observe_invocation("MetricsFn", "sqs:some-queue", 0.2, None)
    runtime_metrics.observe_invocation("MetricsFn", "sqs:other-queue", 0.3, ValueError("bad"))
    assert _sample("lightbox_invocations_total", function="MetricsFn", trigger="sqs") == before + 2
    assert _sample("lightbox_invocation_errors_total", function="MetricsFn", error="ValueError") == errors_before + 1
    assert _sample("lightbox_invocation_duration_seconds_bucket", function="MetricsFn", le="0.25") >= 1


def test_trigger_kind_keeps_label_cardinality_low() -> None:
    assert runtime_metrics.trigger_kind("http:GET /photos/{id}") == "http"
    assert runtime_metrics.trigger_kind("s3:bucket/key with spaces") == "s3"
    assert runtime_metrics.trigger_kind("cli") == "cli"
    assert runtime_metrics.trigger_kind("") == "direct"


def test_a_streamed_body_counts_as_open_until_the_server_closes_it_once() -> None:
    closed = []

    class Body:
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield b"data: 1\n\n"

        def close(self) -> None:
            closed.append(True)

    start = _sample("lightbox_http_streams_open", function="SseFn")
    stream = CountedStream(Body(), "SseFn")
    assert _sample("lightbox_http_streams_open", function="SseFn") == start + 1
    assert list(stream) == [b"data: 1\n\n"]
    stream.close()
    stream.close()
    assert _sample("lightbox_http_streams_open", function="SseFn") == start
    assert closed == [True]


def test_queue_collector_reports_depths_dead_letters_and_redis_down() -> None:
    broker = mock.Mock(spec=Broker)
    broker.connection = mock.Mock(spec=Redis)
    broker.queue_names.return_value = ["work"]
    broker.depth.return_value = {"waiting": 3, "running": 1, "retrying": 2, "dead": 4}
    broker.connection.scan_iter.return_value = [b"app:events"]
    broker.connection.xinfo_stream.return_value = {"length": 5, "entries-added": 9}
    text = generate_latest(metrics.exposition_registry(broker)).decode()
    assert 'lightbox_queue_messages{queue="work",state="waiting"} 3.0' in text
    assert 'lightbox_dlq_messages{queue="work"} 4.0' in text
    assert 'lightbox_stream_events_published_total{stream="app:events"} 9.0' in text
    assert 'lightbox_stream_length{stream="app:events"} 5.0' in text
    assert "lightbox_redis_up 1.0" in text

    broker.queue_names.side_effect = RedisConnectionError("down")
    text = generate_latest(metrics.exposition_registry(broker)).decode()
    assert "lightbox_redis_up 0.0" in text


def test_json_log_lines_merge_the_invocation_record_and_carry_the_trace_id() -> None:
    fmt = JsonFormatter()
    token = trace_id.set("Root=1-abc")
    try:
        record = logging.LogRecord("lightbox.invoke", logging.INFO, __file__, 1,
                                   json.dumps({"function": "Fn", "outcome": "ok"}), None, None)
        line = json.loads(fmt.format(record))
        plain = json.loads(fmt.format(logging.LogRecord("x", logging.WARNING, __file__, 1, "hi %s", ("there",), None)))
    finally:
        trace_id.reset(token)
    assert line["function"] == "Fn" and line["outcome"] == "ok" and line["trace_id"] == "Root=1-abc"
    assert "message" not in line
    assert plain["message"] == "hi there" and plain["level"] == "WARNING"
