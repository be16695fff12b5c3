"""Prometheus exposition: invocations, errors and durations per function (counted where they run,
lightbox/runtime/metrics.py), queue depths, dead letters and event streams (read from Redis when
scraped), open HTTP streams (lightbox/apigateway/streaming.py).

Each process counts its own invocations. gunicorn's workers share one exposition through
prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set in compose); a
`lightbox worker` serves its own on LIGHTBOX_METRICS_PORT, scraped like any replica.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

from flask import Blueprint, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from lightbox import config

if TYPE_CHECKING:
    from lightbox.sqs.queues import Broker

log = logging.getLogger(__name__)

# A scrape must stay cheap on a big Redis: look at this many stream keys at most.
MAX_STREAMS = 20

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
            for queue in [*self.broker.queue_names(), config.ASYNC_QUEUE]:
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
    if config.multiprocess_metrics_dir():
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
