"""Memory of an environment's process tree, read from /proc (Linux, as Lambda)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def _field_kb(status: bytes, field: str) -> int | None:
    """A kB field of a /proc status file ("VmRSS:\t  1234 kB"), None when it has none."""
    _, found, rest = status.partition(f"\n{field}:".encode())
    try:
        return int(rest.split(None, 1)[0]) if found else None
    except (ValueError, IndexError):
        return None


def _status_kb(pid: int, field: str) -> int:
    try:
        return _field_kb(Path(f"/proc/{pid}/status").read_bytes(), field) or 0
    except OSError:
        return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            found.extend(int(c) for c in text.split())
    except (OSError, ValueError):
        pass
    return found


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (a handler's subprocesses count, as on Lambda)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        total += _status_kb(current, "VmRSS")
        todo.extend(_children(current))
    return total / 1024


class PeakMemory:
    """VmHWM of one process, read at each invocation's end (Max Memory Used) with one pread of a
    status file kept open: opening /proc anew each time cost more than the rest of a REPORT line."""

    def __init__(self, pid: int) -> None:
        try:
            self._fd: int | None = os.open(f"/proc/{pid}/status", os.O_RDONLY)
        except OSError:
            self._fd = None
        self.last_mb = 0.0  # what the last read gave: the answer once the process is gone

    def read_mb(self) -> float:
        fd = self._fd  # (closed meanwhile by the process's end: that read fails, last_mb stands)
        if fd is not None:
            with contextlib.suppress(OSError):
                kb = _field_kb(os.pread(fd, 8192, 0), "VmHWM")
                if kb is not None:
                    self.last_mb = kb / 1024
        return self.last_mb

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
