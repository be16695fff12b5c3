"""Prometheus metrics: invocations, errors and durations per function (counted where they run),
queue depths, dead letters and event streams (read from Redis when scraped), open HTTP streams.

Each process counts its own invocations. gunicorn's workers share one exposition through
prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set in compose); a
`lightbox worker` serves its own on LIGHTBOX_METRICS_PORT, scraped like any replica.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

from flask import Blueprint, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from local import defaults

if TYPE_CHECKING:
    from local.broker import Broker

log = logging.getLogger(__name__)

# Lambda's own duration buckets would start at 1 ms; the last ones cover the 30 s+ stage timeouts.
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
# A scrape must stay cheap on a big Redis: look at this many stream keys at most.
MAX_STREAMS = 20

INVOCATIONS = Counter("lightbox_invocations", "Function invocations", ["function", "trigger"])
ERRORS = Counter("lightbox_invocation_errors", "Invocations that raised or timed out", ["function", "error"])
DURATION = Histogram("lightbox_invocation_duration_seconds", "Invocation wall time", ["function"],
                     buckets=_DURATION_BUCKETS)
# livesum: a gunicorn worker that died takes its open streams with it.
STREAMS_OPEN = Gauge("lightbox_http_streams_open", "Streamed HTTP responses in flight (SSE clients)",
                     ["function"], multiprocess_mode="livesum")


def trigger_kind(trigger: str) -> str:
    """"sqs:validate-queue" -> "sqs": a label per trigger kind, not per queue or key (cardinality)."""
    return trigger.split(":", 1)[0] or "direct"


def observe_invocation(function: str, trigger: str, seconds: float, error: BaseException | None) -> None:
    INVOCATIONS.labels(function, trigger_kind(trigger)).inc()
    DURATION.labels(function).observe(seconds)
    if error is not None:
        ERRORS.labels(function, type(error).__name__).inc()


class CountedStream:
    """An iterator body that is counted in STREAMS_OPEN from first byte until the server closes it."""

    def __init__(self, body: Iterable[bytes], function: str) -> None:
        self._body = body
        self._gauge = STREAMS_OPEN.labels(function)
        self._gauge.inc()
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self._body

    def close(self) -> None:
        # WSGI servers call close() when the client goes away or the body ends; call it once.
        if not self._closed:
            self._closed = True
            self._gauge.dec()
            close = getattr(self._body, "close", None)
            if callable(close):
                close()


class QueueCollector(Collector):
    """Queue depth by state, dead letters and event streams, read from Redis at scrape time."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def collect(self) -> Iterable[Any]:
        depth = GaugeMetricFamily("lightbox_queue_messages", "Messages per queue and state", labels=["queue", "state"])
        dead = GaugeMetricFamily("lightbox_dlq_messages", "Dead letters per source queue", labels=["queue"])
        published = CounterMetricFamily("lightbox_stream_events_published",
                                        "Entries ever added to a Redis stream", labels=["stream"])
        length = GaugeMetricFamily("lightbox_stream_length", "Entries kept in a Redis stream", labels=["stream"])
        up = GaugeMetricFamily("lightbox_redis_up", "1 when Redis answered this scrape")
        try:
            for queue in [*self.broker.queue_names(), defaults.ASYNC_QUEUE]:
                d = self.broker.depth(queue)
                for state in ("waiting", "running", "retrying"):
                    depth.add_metric([queue, state], d[state])
                dead.add_metric([queue], d["dead"])
            for stream, added, kept in self._streams():
                published.add_metric([stream], added)
                length.add_metric([stream], kept)
            up.add_metric([], 1)
        except RedisError as exc:
            log.warning("metrics: Redis unavailable: %s", exc)
            up.add_metric([], 0)
        yield from (depth, dead, published, length, up)

    def _streams(self) -> Iterator[tuple[str, int, int]]:
        conn = self.broker.connection
        for i, key in enumerate(conn.scan_iter(_type="STREAM", count=1000)):
            if i >= MAX_STREAMS:
                break
            info = cast(dict[str, Any], conn.xinfo_stream(key))
            kept = int(info["length"])
            # Redis 7 counts every XADD even after MAXLEN trimmed it; Redis 6 only knows the length.
            added = int(info.get("entries-added", kept))
            yield (key.decode() if isinstance(key, bytes) else str(key)), added, kept


class _Default(Collector):
    """Everything registered on the process-wide default registry (one process, no multiprocess dir)."""

    def collect(self) -> Iterable[Any]:
        return REGISTRY.collect()


def exposition_registry(broker: Broker | None = None) -> CollectorRegistry:
    registry = CollectorRegistry()  # no auto_describe: registering must not query Redis
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Default())
    if broker is not None:
        registry.register(QueueCollector(broker))
    return registry


def blueprint(broker: Broker, paths: Iterable[str] = ("/metrics", "/_lightbox/metrics")) -> Blueprint:
    bp = Blueprint("lightbox_metrics", __name__)
    registry = exposition_registry(broker)

    def metrics() -> Response:
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    for path in paths:
        bp.add_url_rule(path, f"metrics{path.replace('/', '_')}", metrics, methods=["GET"])
    return bp


def serve_process_metrics(port: int) -> None:
    """For processes with no HTTP server of their own (workers, the scheduler)."""
    start_http_server(port, registry=exposition_registry())
    log.info("metrics on :%d/metrics", port)
