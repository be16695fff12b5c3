"""Lambda's SQS event source mapping as an RQ job: gather a batch from the queue (sqs/gather.py),
drop what no FilterCriteria pattern matches, hand the rest to the function (sqs/delivery.py).

A standard queue's next receive may start as soon as this one has its batch; a FIFO queue's waits
until this batch is done (delivered, or out of receives), so a message group's order holds."""

from __future__ import annotations

from typing import Any

from rq import get_current_job

from lightbox import config
from lightbox.eventsources.filters import compile_filters, keeper, sqs_view
from lightbox.queueing.jobs import DeliveryFailed, runtime
from lightbox.sqs import gather
from lightbox.sqs.delivery import deliver_sqs
from lightbox.sqs.queues import Broker
from lightbox.template.model import SqsTrigger


def _trigger(function: str, queue: str) -> SqsTrigger | None:
    fn = runtime().template.function(function)
    return next((t for t in fn.of_kind_sqs() if t.queue == queue), None)


def receive(queue: str, function: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    job = get_current_job()
    rt = runtime()
    trigger = _trigger(function, queue)
    patterns = compile_filters(trigger.filter_criteria, f"{function} <- {queue}") if trigger else []
    keep = keeper(patterns, sqs_view)
    broker = None
    if job is not None:
        base = float(job.retry_intervals[0]) if job.retry_intervals else config.RETRY_BASE_SECONDS
        broker = Broker(rt.template, job.connection, retry_base=base)
    fifo = broker is not None and broker.fifo(queue)
    if job is not None and broker is not None and not job.meta.get("gathered", True):
        size = trigger.batch_size if trigger else config.SQS_BATCH_SIZE
        window = trigger.maximum_batching_window if trigger else 0
        messages = gather.gather(job.connection, queue, job.id, size, window, keep)
        job.args = (queue, function, messages)
        job.meta["gathered"] = True
        job.save()
        gather.forget_taken(job.connection, job.id)
        if messages:
            gather.hold(job.connection, queue, job.id, float(job.timeout or config.VISIBILITY_TIMEOUT) * 2)
        if not fifo or not messages:
            broker.receive_ended(queue)
    else:
        if job is not None and broker is not None and not fifo and broker.receiving(queue) == job.id:
            broker.receive_ended(queue)  # it had its batch when its worker was killed: let the next start
        messages = [m for m in messages if keep(m)]  # a delayed message, or a replayed batch
    if not messages:
        return {"delivered": 0, "attempt": 0}
    done = True
    try:
        return deliver_sqs(queue, function, messages)
    except DeliveryFailed:
        done = job is None or not job.retries_left  # else RQ receives it again later
        raise
    finally:
        if done and job is not None and broker is not None:
            gather.release(job.connection, queue, job.id)
            if fifo:
                broker.receive_ended(queue)
            else:
                broker.receive(queue)  # a MaximumConcurrency slot is free
