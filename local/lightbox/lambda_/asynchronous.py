"""Asynchronous invocation as Lambda runs it (Event invokes, S3, SNS, EventBridge, schedules).

Each event is an RQ job on the async queue (sqs/queues.py `Broker.invoke_async`). An attempt first
checks the event's age against `MaximumEventAgeInSeconds`, then invokes; a function error is retried
`MaximumRetryAttempts` times (default 2) after Lambda's backoff (one, then two minutes, scaled by the
retry-base setting); then the record goes to the OnFailure destination and the event to the
dead-letter queue. A success goes to OnSuccess. An event with nowhere to go stays in the async queue's
failed registry (`lightbox dlq list lightbox-async`), where AWS would drop it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from rq import get_current_job
from rq.job import Job

from lightbox import config
from lightbox.exceptions import Throttled
from lightbox.lambda_.destinations import DestinationError, record, send_dead_letter, send_record
from lightbox.queueing.jobs import DeliveryFailed, runtime
from lightbox.runtime.invoke import Invocation
from lightbox.sqs.queues import Broker
from lightbox.template.model import Function

log = logging.getLogger("lightbox.async")


@dataclass(frozen=True)
class Attempt:
    """Where one attempt of an event stands: its number (1 = the first invoke) and its age."""

    number: int
    age_seconds: float
    retries_left: int


def expired(fn: Function, attempt: Attempt) -> bool:
    """Lambda drops an event older than MaximumEventAgeInSeconds (default six hours) before invoking it."""
    cfg = fn.event_invoke_config
    limit = cfg.maximum_event_age_seconds if cfg and cfg.maximum_event_age_seconds is not None \
        else config.ASYNC_MAX_EVENT_AGE_SECONDS
    return attempt.age_seconds > limit


def _attempt(job: Job | None) -> Attempt:
    if job is None:  # run outside a worker (a test calling the job function): one attempt, no retries
        return Attempt(1, 0.0, 0)
    number = int(job.meta.get("attempt", 0)) + 1
    job.meta["attempt"] = number  # recorded before the call: a worker killed mid-call still counts it
    first = float(job.meta.setdefault("enqueued_at", time.time()))
    job.save_meta()
    return Attempt(number, time.time() - first, int(job.retries_left or 0))


def _broker(job: Job | None) -> Broker:
    rt = runtime()
    if job is None:
        raise RuntimeError("destinations need the worker's Redis: run asynchronous invokes in `lightbox worker`")
    return Broker(rt.template, job.connection, float(job.meta.get("retry_base", config.RETRY_BASE_SECONDS)))


def _function_arn(broker: Broker, fn: Function) -> str:
    t = broker.template
    return f"arn:aws:lambda:{t.region}:{t.account_id}:function:{fn.function_name or fn.name}"


def invoke_async(function: str, event: Any, trigger: str) -> Any:
    """One attempt of an asynchronous invocation (the RQ job Broker.invoke_async enqueues)."""
    job = get_current_job()
    rt = runtime()
    fn = rt.template.function(function)
    attempt = _attempt(job)
    request_id = str(job.meta.get("request_id") or job.id) if job is not None else ""
    if expired(fn, attempt):
        log.error("%s: event %s is older than MaximumEventAgeInSeconds (%.0f s) after %d attempt(s); not invoked",
                  function, request_id, attempt.age_seconds, attempt.number - 1)
        if job is not None:
            job.retries_left = 0  # an aged-out event is not retried (the worker reads this job object)
        return _failed(job, fn, event, None, "EventAgeExceeded", attempt.number - 1, request_id)
    inv = rt.invoke(function, event, trigger=trigger)
    if inv.ok:
        _deliver(job, fn, event, inv, "Success", attempt.number, request_id)
        return inv.result  # the job's result: what the function returned
    if isinstance(inv.error, Throttled) and job is not None:
        # Lambda keeps a throttled event and tries again later; the attempt does not count.
        job.meta["attempt"] = attempt.number - 1
        job.save_meta()
        job.retries_left = attempt.retries_left + 1
        job.retry_intervals = job.retry_intervals or [1]
        log.warning("%s: throttled (%s); the event waits and is tried again", function, inv.error)
        raise DeliveryFailed(f"{function} throttled on {trigger}")
    if attempt.retries_left:
        delay = float(job.meta.get("retry_base", config.RETRY_BASE_SECONDS)) * 2 ** (attempt.number - 1) \
            if job is not None else 0.0
        log.warning("%s failed on %s (attempt %d): %r; retried in %.1f s (%d retries left)", function, trigger,
                    attempt.number, inv.error, delay, attempt.retries_left)
        raise DeliveryFailed(f"{function} failed on {trigger}: {inv.error!r}")
    return _failed(job, fn, event, inv, "RetriesExhausted", attempt.number, request_id)


def _deliver(job: Job | None, fn: Function, event: Any, inv: Invocation | None, condition: str, count: int,
             request_id: str) -> bool:
    """The record to OnSuccess or OnFailure; True if it went somewhere."""
    cfg = fn.event_invoke_config
    target = (cfg.on_success if condition == "Success" else cfg.on_failure) if cfg else None
    if not target:
        return False
    broker = _broker(job)
    arn = _function_arn(broker, fn)
    try:
        send_record(broker, target, record(arn, request_id, condition, count, event, inv), arn)
    except DestinationError as exc:
        log.error("%s: the %s record could not be sent to its destination: %s", fn.name, condition, exc)
        return False
    log.info("%s: %s record sent to %s", fn.name, condition, target)
    return True


def _failed(job: Job | None, fn: Function, event: Any, inv: Invocation | None, condition: str, count: int,
            request_id: str) -> dict[str, Any]:
    """No attempts left: OnFailure and the dead-letter queue get it; with neither, the failed registry."""
    delivered = _deliver(job, fn, event, inv, condition, count, request_id)
    if fn.dead_letter_arn:
        try:
            send_dead_letter(_broker(job), fn.dead_letter_arn, event, inv, request_id)
            delivered = True
            log.info("%s: event %s sent to its dead-letter queue %s", fn.name, request_id, fn.dead_letter_arn)
        except DestinationError as exc:
            log.error("%s: the event could not be sent to its dead-letter queue: %s", fn.name, exc)
    what = f"{fn.name}: {condition} after {count} attempt(s)" + (f": {inv.error!r}" if inv is not None else "")
    if not delivered:
        log.error("%s; no destination took it: kept in the failed registry (lightbox dlq list %s)", what,
                  config.ASYNC_QUEUE)
        raise DeliveryFailed(what)
    return {"attempt": count, "outcome": condition}
