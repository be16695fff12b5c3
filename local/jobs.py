"""The functions RQ jobs name: they run inside a worker whose Runtime is installed here."""

from __future__ import annotations

import logging
import time
from typing import Any, NoReturn

from rq import get_current_job
from rq.job import Job

from local.runtime import Runtime

log = logging.getLogger("lightbox.queue")
_runtime: Runtime | None = None


class DeliveryFailed(Exception):
    """The function failed on the batch (or on some of it); RQ retries what is pending."""


def install(runtime: Runtime) -> None:
    global _runtime
    _runtime = runtime


def runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("no Runtime installed in this worker: start it with `lightbox worker`")
    return _runtime


def _record(msg: dict[str, Any], queue: str, receive_count: int, first_receive: str) -> dict[str, Any]:
    rt = runtime().template
    return {
        "messageId": msg["messageId"],
        "receiptHandle": f"{msg['messageId']}#{receive_count}",
        "body": msg["body"],
        "attributes": {
            **msg.get("attributes", {}),
            "ApproximateReceiveCount": str(receive_count),
            "ApproximateFirstReceiveTimestamp": first_receive,
        },
        "messageAttributes": msg.get("messageAttributes", {}),
        "md5OfBody": msg.get("md5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{rt.region}:{rt.account_id}:{queue}",
        "awsRegion": rt.region,
    }


def deliver_sqs(queue: str, function: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """One receive of a batch: invoke the function; raise so RQ retries what failed."""
    job = get_current_job()
    pending: list[str] | None = None
    attempt = 1
    if job is not None:
        # The attempt is recorded before the call, so a worker killed mid-call still counts it.
        attempt = int(job.meta.get("attempt", 0)) + 1
        job.meta["attempt"] = attempt
        job.meta.setdefault("first_receive", str(int(time.time() * 1000)))
        job.save_meta()
        pending = job.meta.get("pending")
    first = str(job.meta["first_receive"]) if job is not None else str(int(time.time() * 1000))
    batch = [m for m in messages if pending is None or m["messageId"] in pending]
    event = {"Records": [_record(m, queue, attempt, first) for m in batch]}
    rt = runtime()
    inv = rt.invoke(function, event, trigger=f"sqs:{queue}")
    if not inv.ok:
        _fail(job, f"{function} failed on {len(batch)} message(s) from {queue}: {inv.error!r}")
    failed = _batch_item_failures(rt, function, queue, inv.result, {m["messageId"] for m in batch})
    if failed:
        if job is not None:
            job.meta["pending"] = sorted(failed)
            job.save_meta()
        _fail(job, f"{function} reported {len(failed)} of {len(batch)} message(s) from {queue} failed: {sorted(failed)}")
    return {"delivered": len(batch), "attempt": attempt}


def _fail(job: Job | None, what: str) -> NoReturn:
    """Say what happens next (RQ's own log would only show a traceback), then let RQ do it."""
    left = job.retries_left if job is not None else 0
    if left:
        log.warning("%s; will be received again (%d receive(s) left)", what, left)
    else:
        log.error("%s; no receives left: moved to the dead-letter queue (lightbox dlq list)", what)
    raise DeliveryFailed(what)


def _batch_item_failures(rt: Runtime, function: str, queue: str, result: Any, ids: set[str]) -> set[str]:
    """Only honoured when the mapping says ReportBatchItemFailures, as on AWS."""
    fn = rt.template.function(function)
    if not any(t.report_batch_item_failures for t in fn.of_kind_sqs() if t.queue == queue):
        return set()
    if not isinstance(result, dict) or not result.get("batchItemFailures"):
        return set()
    failed = {str(item.get("itemIdentifier")) for item in result["batchItemFailures"]}
    # An identifier that is not in the batch makes Lambda treat the whole batch as failed.
    return min(failed, ids)


def invoke_async(function: str, event: dict[str, Any], trigger: str) -> Any:
    inv = runtime().invoke(function, event, trigger=trigger)
    if not inv.ok:
        _fail(get_current_job(), f"{function} failed on {trigger}: {inv.error!r}")
    return inv.result
