"""What a handler prints becomes its invocation's log lines, whole lines, however it was written;
the streams are put back as they were once no invocation runs."""

from __future__ import annotations

import io
import sys

from lightbox.testing.recording import PrintRouter, _Lines, _lines, _prints_routed


def test_prints_become_whole_lines_of_the_running_invocation_and_others_pass_through() -> None:
    outside = io.StringIO()
    out, err = PrintRouter(outside, "stdout"), PrintRouter(outside, "stderr")
    lines = _Lines()
    token = _lines.set(lines)
    try:
        print("shouting", "a.txt", file=out)
        out.write("half ")
        err.write("a warning, unfinished")
        out.write("a line\nand an unfinished one")
    finally:
        _lines.reset(token)
    out.write("not a handler's\n")
    assert lines.finish() == ["shouting a.txt", "half a line", "a warning, unfinished", "and an unfinished one"]
    assert outside.getvalue() == "not a handler's\n"
    assert out.encoding and out.errors  # what libraries read off sys.stdout


def test_overlapping_invocations_leave_the_streams_as_they_found_them() -> None:
    before = sys.stdout, sys.stderr
    replaced = io.StringIO()
    try:
        first, second = _prints_routed(), _prints_routed()
        first.__enter__()
        sys.stdout = replaced  # as pytest does between phases, or a handler's redirect_stdout
        second.__enter__()
        assert isinstance(sys.stdout, PrintRouter) and sys.stdout.inner is replaced
        assert isinstance(sys.stderr, PrintRouter) and not isinstance(sys.stderr.inner, PrintRouter)
        second.__exit__(None, None, None)  # the later one ends first
        first.__exit__(None, None, None)
        assert sys.stdout is replaced and sys.stderr is before[1]
    finally:
        sys.stdout, sys.stderr = before
