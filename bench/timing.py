"""Timing helpers every bench shares: percentiles, a stopwatch in ms, and the machine's load for a report."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterable


def percentile(values: Iterable[float], p: float) -> float:
    """The p-th percentile (0..100) by nearest rank on the sorted values; nan when there are none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def p50(values: Iterable[float]) -> float:
    """The median (the mean of the middle two for an even count), as statistics.median."""
    return statistics.median(values)


def ms_since(started: float) -> float:
    """Milliseconds since `started`, a time.perf_counter() reading."""
    return (time.perf_counter() - started) * 1000


def timed_ms(call: Callable[[], object]) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter()
    call()
    return ms_since(started)


def load_note() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` prints them, and the CPU count: a shared
    machine's numbers move with it, so every report says what it was."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"
