"""RQ worker that runs queue-triggered and asynchronous invocations in this process."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from datetime import timedelta
from pathlib import Path
from typing import cast

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import LockError
from rq import Queue, SimpleWorker, worker_registration
from rq.executions import Execution, cleanup_execution
from rq.job import Job
from rq.registry import StartedJobRegistry, clean_registries
from rq.serializers import JSONSerializer
from rq.utils import now
from rq.worker import DequeueStrategy, WorkerStatus

from lightbox import config
from lightbox.queueing import jobs
from lightbox.queueing.queue import LightboxQueue, claim
from lightbox.runtime.invoke import Runtime
from lightbox.template.model import HttpRoute, Template

log = logging.getLogger(__name__)


class LightboxWorker(SimpleWorker):
    """No fork per job: module state stays warm between invocations, as in a Lambda sandbox,
    and a message reaches its handler in about a millisecond instead of a fork's cost."""

    queue_class = LightboxQueue
    _plain_heartbeat_until = 0.0

    def execute_job(self, job: Job, queue: Queue) -> None:
        """SimpleWorker's, with a claim (queues.claim) between registering the job's execution
        and running it. The claim fails only if maintenance took the job back meanwhile, because
        this worker stopped (SIGSTOP, a suspended laptop) for longer than a pass: the job was
        retried or dead-lettered from there, and running it here as well would run it twice."""
        execution = self.prepare_execution(job)
        if claim(self.connection, queue, job):
            self.perform_job(job, queue, execution)
        else:
            with self.connection.pipeline() as pipeline:
                cleanup_execution(self, job, pipeline, execution)
                pipeline.execute()
            log.warning("job %s was taken back by maintenance (or deleted) before this worker started it; "
                        "not run here", job.id)
        self.set_state(WorkerStatus.IDLE)

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        # The claim has removed it; a second LREM could remove another taker's copy of the id.
        super().prepare_job_execution(job, remove_from_intermediate_queue=False)

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """RQ's, in one round trip instead of three; and the plain one (the registration's full
        TTL, worker_ttl + 60 s) not again within HEARTBEAT_REUSE_SECONDS of the last, since RQ
        sends it four times around every job. One that sets another TTL (a job's) always goes."""
        plain = timeout is None
        if plain and time.monotonic() < self._plain_heartbeat_until:
            return
        if pipeline is not None:
            super().heartbeat(timeout, pipeline=pipeline)  # RQ's callers execute it at once
        else:
            with self.connection.pipeline(transaction=False) as batch:
                super().heartbeat(timeout, pipeline=batch)
                batch.execute()
        self._plain_heartbeat_until = time.monotonic() + HEARTBEAT_REUSE_SECONDS if plain else 0.0

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        # RQ sets IDLE after a job and again as it starts looking for the next; only this
        # worker writes its state, so an unchanged one need not be written again.
        if pipeline is None and state == self._state:
            return
        super().set_state(state, pipeline=pipeline)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # RQ's default adds 60 s; a killed worker's job would sit a minute before it runs again.
        return int(job.timeout or config.VISIBILITY_TIMEOUT) + config.ABANDONED_GRACE_SECONDS

    def clean_registries(self) -> None:
        # RQ's own pass, under its per-queue lock so one worker cleans a queue at a time, plus two
        # steps before it: recovering a job twice would run it twice and count two receives.
        for queue in self.queues:
            # Not RQ's own lock: it lasts 15 minutes, so a worker killed during its pass (likeliest
            # right after it starts) would stop every dead job of that queue being re-run for that long.
            lock = self.connection.lock(_MAINTENANCE_LOCK.format(queue.name), timeout=_MAINTENANCE_LOCK_SECONDS)
            if not lock.acquire(blocking=False):
                continue
            try:
                self._expire_jobs_of_dead_workers(queue)
                self._recover_taken_not_started(queue)
                clean_registries(queue, self._exc_handlers)
                worker_registration.clean_worker_registry(queue)
                queue.intermediate_queue.cleanup(self, queue)
            finally:
                with contextlib.suppress(LockError):  # expired meanwhile: another worker may hold it now
                    lock.release()
        self.last_cleaned_at = now()  # type: ignore[assignment]  # RQ declares it None-typed

    def _expire_jobs_of_dead_workers(self, queue: Queue) -> None:
        """A job whose worker is known dead need not wait out its heartbeat (the queue's visibility
        timeout, minutes for real apps): marking it expired lets RQ's cleanup run it again now.
        The worker is the entry's execution's, not the job's: a job re-run by a live worker
        still names the dead one for the moment between its new entry and its new worker_name,
        and expiring it then sent a job that went on to finish to the DLQ."""
        registry = StartedJobRegistry(queue=queue)
        for entry in cast(list[bytes], self.connection.zrange(registry.key, 0, -1)):
            job_id, _, execution_id = entry.decode().partition(":")
            try:
                worker_name = Execution.fetch(execution_id, job_id, self.connection).worker_name
            except ValueError:
                continue  # the execution ended meanwhile; its entry goes with it
            if worker_name and _worker_dead(self.connection, worker_name):
                log.warning("worker %s died running job %s; it runs again", worker_name, job_id)
                self.connection.zadd(registry.key, {entry: 0}, xx=True)  # unless it ended meanwhile

    def _recover_taken_not_started(self, queue: Queue) -> None:
        """A worker killed between taking a job off the queue and starting it leaves the job in
        RQ's intermediate queue, which RQ recovers after a minute; the window is microseconds, so
        a job still there one maintenance pass after RQ first saw it is stuck: retry it now."""
        taken = queue.intermediate_queue
        started = queue.started_job_registry
        for job_id in taken.get_job_ids():
            first_seen = taken.get_first_seen(job_id)
            if job_id in started or first_seen is None or now() - first_seen < _STUCK_TAKEN:
                continue
            # The LREM is the claim: whoever removes it (this pass, a slower one, the taker starting
            # at last) is the only one to act on it.
            if not self.connection.lrem(taken.key, 1, job_id):
                continue
            self.connection.delete(taken.get_first_seen_key(job_id))  # else its next take looks stuck at once
            job = queue.fetch_job(job_id)
            if job is not None:
                log.warning("job %s was taken by a worker that died before starting it; it runs again", job_id)
                self.handle_job_failure(job, queue, exc_string="the worker died before starting the job")


# The plain heartbeat leaves the registration a minute or more to live; skipping repeats within
# a second leaves it no less than that, minus a second.
HEARTBEAT_REUSE_SECONDS = 1.0
_MAINTENANCE_LOCK = "lightbox:maintenance:{0}"
# A pass takes milliseconds; a killed worker's lock must not outlive the next maintenance interval by much.
_MAINTENANCE_LOCK_SECONDS = 2 * config.MAINTENANCE_INTERVAL_SECONDS
_STUCK_TAKEN = timedelta(seconds=config.MAINTENANCE_INTERVAL_SECONDS)


def _worker_dead(connection: Redis, name: str) -> bool:
    """Dead for sure: its registration is gone, or it ran on this host and its process is gone.
    A worker on another host (a compose container) is left to its heartbeat."""
    key = f"{SimpleWorker.redis_worker_namespace_prefix}{name}"
    hostname, pid = cast(list[bytes | None], connection.hmget(key, ["hostname", "pid"]))
    if hostname is None:
        return True
    if hostname.decode() != socket.gethostname() or not pid:
        return False
    return not _process_alive(int(pid))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")  # a killed child nobody reaped yet is a zombie: dead too
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def worker_queues(template: Template, connection: Redis) -> list[Queue]:
    """The queues a worker takes from: every one a function consumes, and async invokes."""
    consumed = {t.queue for f in template.functions.values() for t in f.of_kind_sqs()}
    return [LightboxQueue(q, connection=connection, serializer=JSONSerializer)
            for q in (*sorted(consumed), config.ASYNC_QUEUE)]


def event_functions(template: Template) -> list[str]:
    """The functions a worker runs: those with a trigger that is not an HTTP route (queues, bucket
    events, schedules). A worker starts their environments before it takes its first job, as it
    imported them before environments: the first message does not wait for a cold start."""
    return [name for name, fn in template.functions.items()
            if any(not isinstance(t, HttpRoute) for t in fn.triggers)]


def run_worker(runtime: Runtime, connection: Redis, *, burst: bool = False, name: str | None = None) -> bool:
    """Work until stopped (or, with burst, until the queues are empty)."""
    jobs.install(runtime)
    queues = worker_queues(runtime.template, connection)
    worker = LightboxWorker(
        queues,
        connection=connection,
        serializer=JSONSerializer,
        name=name,
        maintenance_interval=config.MAINTENANCE_INTERVAL_SECONDS,
        # RQ waits worker_ttl - 15 s on an empty queue before its next maintenance pass, and
        # that pass is what re-runs a dead worker's job: keep it short.
        worker_ttl=config.MAINTENANCE_INTERVAL_SECONDS + 15,
    )
    # RQ logs every failed job as a traceback; jobs.py logs what happens next instead.
    # Round robin: on AWS each queue is polled on its own, so a backlog on one queue never holds
    # back another's messages (in RQ's default order the first queue starves the rest).
    return bool(worker.work(burst=burst, with_scheduler=True, logging_level="CRITICAL",
                            dequeue_strategy=DequeueStrategy.ROUND_ROBIN))
