"""The functions RQ jobs name: they run inside a worker whose Runtime is installed here."""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from rq import get_current_job
from rq.job import Job

from lightbox.runtime.invoke import Runtime

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


def fail(job: Job | None, what: str) -> NoReturn:
    """Say what happens next (RQ's own log would only show a traceback), then let RQ do it."""
    left = job.retries_left if job is not None else 0
    if left:
        log.warning("%s; will be received again (%d receive(s) left)", what, left)
    else:
        log.error("%s; no receives left: moved to the dead-letter queue (lightbox dlq list)", what)
    raise DeliveryFailed(what)


def invoke_async(function: str, event: dict[str, Any], trigger: str) -> Any:
    inv = runtime().invoke(function, event, trigger=trigger)
    if not inv.ok:
        fail(get_current_job(), f"{function} failed on {trigger}: {inv.error!r}")
    return inv.result
