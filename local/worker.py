"""RQ worker that runs queue-triggered and asynchronous invocations in this process."""

from __future__ import annotations

import logging

from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker import DequeueStrategy

from local import defaults, jobs
from local.broker import Broker
from local.runtime import Runtime

log = logging.getLogger(__name__)


class LightboxWorker(SimpleWorker):
    """No fork per job: module state stays warm between invocations, as in a Lambda sandbox,
    and a message reaches its handler in about a millisecond instead of a fork's cost."""

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # RQ's default adds 60 s; a killed worker's job would sit a minute before it runs again.
        return int(job.timeout or defaults.VISIBILITY_TIMEOUT) + defaults.ABANDONED_GRACE_SECONDS


def worker_queues(broker: Broker) -> list[str]:
    consumed = {t.queue for f in broker.template.functions.values() for t in f.of_kind_sqs()}
    return [*sorted(consumed), defaults.ASYNC_QUEUE]


def run_worker(runtime: Runtime, connection: Redis, *, burst: bool = False, name: str | None = None) -> bool:
    """Work until stopped (or, with burst, until the queues are empty)."""
    jobs.install(runtime)
    broker = Broker(runtime.template, connection)
    queues = [Queue(q, connection=connection, serializer=JSONSerializer) for q in worker_queues(broker)]
    worker = LightboxWorker(
        queues,
        connection=connection,
        serializer=JSONSerializer,
        name=name,
        maintenance_interval=defaults.MAINTENANCE_INTERVAL_SECONDS,
        # RQ waits worker_ttl - 15 s on an empty queue before its next maintenance pass, and
        # that pass is what re-runs a dead worker's job: keep it short.
        worker_ttl=defaults.MAINTENANCE_INTERVAL_SECONDS + 15,
    )
    # RQ logs every failed job as a traceback; jobs.py logs what happens next instead.
    # Round robin: on AWS each queue is polled on its own, so a backlog on one queue never holds
    # back another's messages (in RQ's default order the first queue starves the rest).
    return bool(worker.work(burst=burst, with_scheduler=True, logging_level="CRITICAL",
                            dequeue_strategy=DequeueStrategy.ROUND_ROBIN))
