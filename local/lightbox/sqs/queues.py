"""Queue-triggered and asynchronous invocations as RQ jobs on Redis.

One RQ queue per SQS queue of the template (plus one for async invokes: bucket events and
schedules). A job carries SQS-shaped messages as JSON; RQ gives retries with backoff, a
job timeout, the failed registry (our dead-letter queue) and re-running a dead worker's job.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from lightbox import config
from lightbox.queueing.queue import LightboxQueue, ring
from lightbox.sqs import gather
from lightbox.sqs.gather import MESSAGES_KEY, RECEIVING_KEY
from lightbox.template.model import Function, SqsTrigger, Template

# Messages sent to a queue nobody consumes wait here, as they would in SQS.
HELD_KEY = "lightbox:held:{0}"
# Without a RedrivePolicy SQS redelivers until retention ends; locally that is a busy loop.
MAX_RECEIVE_WITHOUT_REDRIVE = 5
# Lambda's SQS poller (it filters, so it sits with the other event source mappings, above the SQS
# layer; RQ imports it by name in the worker).
RECEIVE_JOB = "lightbox.eventsources.sqs.receive"
_ENDED = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


@dataclass(frozen=True)
class DeadLetter:
    job_id: str
    function: str
    messages: list[dict[str, Any]]
    error: str


class Broker:
    """Producer side: turns sends into jobs; also answers depth and dead-letter questions."""

    def __init__(self, template: Template, connection: Redis, retry_base: float = config.RETRY_BASE_SECONDS) -> None:
        self.template = template
        self.connection = connection
        self.retry_base = retry_base

    def rq_queue(self, name: str) -> Queue:
        return LightboxQueue(name, connection=self.connection, serializer=JSONSerializer)

    def _retry(self, max_retries: int) -> Retry | None:
        if max_retries <= 0:
            return None
        return Retry(max=max_retries, interval=[self.retry_base * 2**i for i in range(max_retries)])

    def max_receive_count(self, queue: str) -> int:
        q = self.template.queues.get(queue)
        return (q.max_receive_count if q and q.max_receive_count else MAX_RECEIVE_WITHOUT_REDRIVE)

    def send(self, queue: str, messages: list[dict[str, Any]], delay_seconds: int = 0) -> None:
        """Make messages available to the queue's consumer (sqs/gather.py); hold them if it has none."""
        consumer = self.consumer(queue)
        if consumer is None:
            self.connection.rpush(HELD_KEY.format(queue), *(json.dumps(m) for m in messages))
            return
        fn, trigger = consumer
        if delay_seconds:
            # A delayed message becomes a receive of its own when due: it is not gathered with others.
            for start in range(0, len(messages), trigger.batch_size):
                batch = messages[start:start + trigger.batch_size]
                self.rq_queue(queue).enqueue_in(_delta(delay_seconds), RECEIVE_JOB,
                                                **self._job(queue, fn, trigger, batch))
            return
        self.connection.rpush(MESSAGES_KEY.format(queue), *(json.dumps(m) for m in messages))
        self.receive(queue)

    def consumer(self, queue: str) -> tuple[Function, SqsTrigger] | None:
        # Several mappings on one queue compete for messages on AWS; the first one wins here.
        consumers = [(f, t) for f, t in self.template.queue_consumers(queue) if t.enabled]
        return consumers[0] if consumers else None

    def receive(self, queue: str) -> bool:
        """Start Lambda's poller on the queue, unless a receive is already on its way (it will take
        what was just sent), the queue is empty, or MaximumConcurrency receives hold batches."""
        consumer = self.consumer(queue)
        if consumer is None or not gather.waiting(self.connection, queue):
            return False
        fn, trigger = consumer
        if trigger.maximum_concurrency and gather.active(self.connection, queue) >= trigger.maximum_concurrency:
            return False  # the next receive starts when one of those ends
        job = self._job(queue, fn, trigger, [])
        # Expires in case its receive is lost for good (it never is, short of a wiped Redis).
        ttl = job["job_timeout"] * (job["meta"]["max_retries"] + 2) + trigger.maximum_batching_window
        job_id, key = str(uuid.uuid4()), RECEIVING_KEY.format(queue)
        if not self.connection.set(key, job_id, nx=True, ex=ttl):
            on_its_way = cast(bytes | None, self.connection.get(key))
            if on_its_way is None or not self._gone(on_its_way.decode(), self.fifo(queue)):
                return False
            # Its worker was killed before it let the next receive start, it was deleted while queued
            # (rq-dashboard's "empty queue"), or it died gathering: what it took goes back to the queue.
            # Not when it saved its batch: what its list still holds is that batch, about to be forgotten.
            if not self._saved_batch(on_its_way.decode()):
                gather.put_back(self.connection, queue, on_its_way.decode())
            self.connection.set(key, job_id, ex=ttl)
        job["meta"]["gathered"] = False
        self.rq_queue(queue).enqueue(RECEIVE_JOB, job_id=job_id, **job)
        return True

    def _gone(self, job_id: str, fifo: bool) -> bool:
        """A receive the next need not wait for: it has its batch (on a FIFO queue: it is done with
        it, retries and all), it ended, or it is no more."""
        try:
            job = Job.fetch(job_id, connection=self.connection, serializer=JSONSerializer)
        except NoSuchJobError:
            return True
        return job.get_status(refresh=False) in _ENDED or (not fifo and bool(job.meta.get("gathered")))

    def _saved_batch(self, job_id: str) -> bool:
        try:
            job = Job.fetch(job_id, connection=self.connection, serializer=JSONSerializer)
        except NoSuchJobError:
            return False
        return bool(job.meta.get("gathered"))

    def fifo(self, queue: str) -> bool:
        q = self.template.queues.get(queue)
        return q.fifo if q else queue.endswith(".fifo")

    def receiving(self, queue: str) -> str | None:
        """The receive on its way to the queue, if one is."""
        value = cast(bytes | None, self.connection.get(RECEIVING_KEY.format(queue)))
        return value.decode() if value else None

    def receive_ended(self, queue: str) -> None:
        """A receive has its batch (or, on a FIFO queue, is done with it): the next may start."""
        self.connection.delete(RECEIVING_KEY.format(queue))
        self.receive(queue)

    def _job(self, queue: str, fn: Function, trigger: SqsTrigger, batch: list[dict[str, Any]]) -> dict[str, Any]:
        q = self.template.queues.get(queue)
        timeout = q.visibility_timeout if q else config.VISIBILITY_TIMEOUT
        max_receive = self.max_receive_count(queue)
        return {
            "args": (queue, fn.name, batch),
            "job_timeout": max(timeout, int(fn.timeout) + 1) + trigger.maximum_batching_window,
            "retry": self._retry(max_receive - 1),
            "meta": {"max_retries": max_receive - 1, "kind": "sqs"},
            "failure_ttl": 14 * 24 * 3600,  # SQS's longest message retention
            "description": f"sqs {queue} -> {fn.name}",
        }

    def invoke_async(self, function: str, event: Any, trigger: str, *, request_id: str | None = None) -> Job:
        """Lambda's asynchronous invoke (Event invokes, S3, EventBridge ...): lambda_/asynchronous.py runs it,
        with the function's MaximumRetryAttempts (default two) after Lambda's backoff, then its destinations."""
        fn = self.template.function(function)
        cfg = fn.event_invoke_config
        retries = cfg.maximum_retry_attempts if cfg and cfg.maximum_retry_attempts is not None \
            else config.ASYNC_RETRIES
        request_id = request_id or str(uuid.uuid4())
        return self.rq_queue(config.ASYNC_QUEUE).enqueue(
            "lightbox.lambda_.asynchronous.invoke_async",
            args=(fn.name, event, trigger),
            job_timeout=int(fn.timeout) + 1,
            retry=self._retry(retries),
            meta={"max_retries": retries, "kind": "async", "request_id": request_id, "enqueued_at": time.time(),
                  "retry_base": self.retry_base},
            failure_ttl=14 * 24 * 3600,
            description=f"{trigger} -> {function}",
        )

    def queue_names(self) -> list[str]:
        names = set(self.template.queues)
        names.update(t.queue for f in self.template.functions.values() for t in f.of_kind_sqs())
        return sorted(names)

    def depth(self, queue: str) -> dict[str, int]:
        rq = self.rq_queue(queue)
        # Counting only: a registry's `count` also cleans it up, which is the workers' job, under
        # their maintenance lock (two cleanups at once could run an abandoned job twice).
        return {
            "waiting": gather.waiting(self.connection, queue) + self._queued_batches(rq)
            + int(cast(int, self.connection.llen(HELD_KEY.format(queue)))),
            "running": StartedJobRegistry(queue=rq).get_job_count(cleanup=False)
            + len(rq.intermediate_queue.get_job_ids()),  # taken by a worker, not started yet
            "retrying": ScheduledJobRegistry(queue=rq).get_job_count(cleanup=False),
            "dead": FailedJobRegistry(queue=rq).get_job_count(cleanup=False),
        }

    def _queued_batches(self, rq: Queue) -> int:
        """Jobs waiting with messages in them (delayed ones now due, retries); the receive that has not
        started yet holds none: its messages are counted in the queue's list."""
        receiving = cast(bytes | None, self.connection.get(RECEIVING_KEY.format(rq.name)))
        queued = rq.count
        if receiving is not None and self.connection.lpos(rq.key, receiving.decode()) is not None:
            queued -= 1
        return queued

    def _source_queues(self, queue: str) -> list[str]:
        """`dlq list X` accepts the source queue or the DLQ named in its RedrivePolicy."""
        sources = [q.name for q in self.template.queues.values() if q.dead_letter_queue == queue]
        return sources or [queue]

    def dead_letters(self, queue: str) -> list[DeadLetter]:
        out: list[DeadLetter] = []
        for source in self._source_queues(queue):
            registry = FailedJobRegistry(queue=self.rq_queue(source))
            for job in Job.fetch_many(registry.get_job_ids(), connection=self.connection,
                                      serializer=JSONSerializer):
                if job is None:
                    continue
                result = job.latest_result()
                error = (result.exc_string if result is not None else "") or ""
                args = job.args
                if job.meta.get("kind") == "sqs":  # only what was still failing is dead
                    pending = job.meta.get("pending")
                    messages = [m for m in args[2] if pending is None or m["messageId"] in pending]
                else:
                    messages = [{"body": json.dumps(args[1])}]
                out.append(DeadLetter(job.id, str(args[1] if job.meta.get("kind") == "sqs" else args[0]),
                                      messages, error.strip().splitlines()[-1] if error.strip() else ""))
        return out

    def replay(self, queue: str) -> int:
        """Put dead letters back on their source queue with their receive count reset, as SQS redrive does."""
        count = 0
        for source in self._source_queues(queue):
            before = count
            registry = FailedJobRegistry(queue=self.rq_queue(source))
            for job_id in registry.get_job_ids():
                job = Job.fetch(job_id, connection=self.connection, serializer=JSONSerializer)
                pending = job.meta.pop("pending", None)
                if pending is not None:  # messages the function already handled are not replayed
                    queue_name, function, messages = job.args
                    job.args = (queue_name, function, [m for m in messages if m["messageId"] in pending])
                job.retries_left = job.meta.get("max_retries") or None
                job.meta.pop("attempt", None)
                job.meta.pop("enqueued_at", None)  # a redriven event is young again
                job.meta.pop("first_receive", None)
                job.save()
                registry.requeue(job)
                count += 1
            if count > before:
                ring(self.connection, source)  # RQ's requeue pushes without LightboxQueue
        return count


def _delta(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)
