"""lightbox.logs.after_response: an invocation's closing log lines wait for the HTTP response being
sent, run at once outside a request, and never wait while a log tail is collected."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

from lightbox import logs
from lightbox.runtime.environments.memory import PeakMemory


def test_outside_a_request_work_runs_at_once() -> None:
    done: list[str] = []
    logs.after_response(lambda: done.append("now"))
    assert done == ["now"]


def test_in_a_request_work_waits_for_the_response_then_runs_in_order() -> None:
    done: list[str] = []
    with logs.deferring() as sent:
        logs.after_response(lambda: done.append("END"))
        logs.after_response(lambda: done.append("REPORT"))
        assert done == []  # the response is not sent yet
        sent()
        assert done == ["END", "REPORT"]
        logs.after_response(lambda: done.append("later"))
    assert done == ["END", "REPORT", "later"]  # what came after the last write runs at the block's end


def test_a_log_tail_gets_its_lines_before_the_answer() -> None:
    done: list[str] = []
    with logs.deferring(), logs.immediate():
        logs.after_response(lambda: done.append("tail line"))
        assert done == ["tail line"]


def test_failing_work_is_logged_and_the_rest_still_runs(caplog: pytest.LogCaptureFixture) -> None:
    done: list[str] = []

    def broken() -> None:
        raise RuntimeError("no disk")

    with logs.deferring() as sent:
        logs.after_response(broken)
        logs.after_response(lambda: done.append("after"))
        sent()
    assert done == ["after"]
    assert any(r.levelno == logging.ERROR and "after a response failed" in r.getMessage() for r in caplog.records)


def test_peak_memory_reads_the_process_and_keeps_its_last_value_once_it_is_gone() -> None:
    with subprocess.Popen([sys.executable, "-c", "b = bytearray(40 * 1024 * 1024); input()"],
                          stdin=subprocess.PIPE) as proc:
        peak = PeakMemory(proc.pid)
        seen = 0.0
        for _ in range(400):  # until the child has touched its 40 MB
            seen = peak.read_mb()
            if seen >= 40:
                break
            time.sleep(0.02)
        proc.kill()
    assert seen >= 40
    assert peak.read_mb() == seen  # the process is gone: its last reading stands
    peak.close()
    assert peak.read_mb() == seen


def test_work_that_waited_sees_the_context_it_was_given_in() -> None:
    seen: list[str | None] = []
    with logs.deferring() as sent:
        token = logs.trace_id.set("Root=1-abc")
        logs.after_response(lambda: seen.append(logs.trace_id.get()))
        logs.trace_id.reset(token)  # the request's trace id is gone by the time the response is out
        sent()
    assert seen == ["Root=1-abc"]
