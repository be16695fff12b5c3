"""Lambda's SQS event source mapping, run as an RQ job: one receive of a batch, the function's
answer, and what is received again (the whole batch, or only what ReportBatchItemFailures names)."""

from __future__ import annotations

import time
from typing import Any

from rq import get_current_job

from lightbox.queueing.jobs import fail, runtime
from lightbox.sqs.messages import lambda_record


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
    rt = runtime()
    region, account = rt.template.region, rt.template.account_id
    event = {"Records": [lambda_record(m, queue, attempt, first, region, account) for m in batch]}
    inv = rt.invoke(function, event, trigger=f"sqs:{queue}")
    if not inv.ok:
        fail(job, f"{function} failed on {len(batch)} message(s) from {queue}: {inv.error!r}")
    fn = rt.template.function(function)
    # Only honoured when the mapping says ReportBatchItemFailures, as on AWS.
    reports = any(t.report_batch_item_failures for t in fn.of_kind_sqs() if t.queue == queue)
    failed = batch_item_failures(inv.result, {m["messageId"] for m in batch}) if reports else set()
    if failed:
        if job is not None:
            job.meta["pending"] = sorted(failed)
            job.save_meta()
        fail(job, f"{function} reported {len(failed)} of {len(batch)} message(s) from {queue} failed: {sorted(failed)}")
    return {"delivered": len(batch), "attempt": attempt}


def batch_item_failures(result: Any, ids: set[str]) -> set[str]:
    """The messages of a batch to receive again, by Lambda's rules for a ReportBatchItemFailures response."""
    # None, {}, a null or empty list, or an answer that is no object: the whole batch is done.
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if not failures:
        return set()
    if not isinstance(failures, list) or not all(isinstance(item, dict) for item in failures):
        return set(ids)  # a list Lambda cannot read fails the whole batch
    named = {item.get("itemIdentifier") for item in failures}
    if not all(isinstance(i, str) and i in ids for i in named):
        # An empty, missing or unknown itemIdentifier makes Lambda treat the whole batch as failed.
        return set(ids)
    return {str(i) for i in named}
