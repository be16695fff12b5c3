"""What Lambda writes to a function's log stream: START, END, REPORT, and the function's own lines."""

from __future__ import annotations

import logging
import math

log = logging.getLogger("lightbox.function")


def start_line(request_id: str) -> str:
    return f"START RequestId: {request_id} Version: $LATEST"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report_line(request_id: str, duration_ms: float, memory_size: int, max_used_mb: float,
                init_ms: float | None) -> str:
    """Lambda's REPORT line: tab separated; Billed Duration rounds up to the millisecond."""
    parts = [f"REPORT RequestId: {request_id}", f"Duration: {duration_ms:.2f} ms",
             f"Billed Duration: {math.ceil(duration_ms)} ms", f"Memory Size: {memory_size} MB",
             f"Max Memory Used: {math.ceil(max_used_mb)} MB"]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    return "\t".join(parts)


def tagged(request_id: str | None, line: str) -> str:
    """A line the function printed, with its request id as Lambda's log stream has it (a line from
    the runtime's logging handler carries it already)."""
    if not request_id or request_id in line:
        return line
    return f"{request_id}\t{line}"


def emit(function: str, line: str) -> None:
    log.info("[%s] %s", function, line)
