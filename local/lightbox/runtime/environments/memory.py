"""Memory of an environment's process tree, read from /proc (Linux, as Lambda)."""

from __future__ import annotations

from pathlib import Path


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
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


def peak_mb(pid: int) -> float:
    """The process's high-water resident memory (Max Memory Used of the REPORT line)."""
    return _status_kb(pid, "VmHWM") / 1024
