"""What a handler prints becomes its invocation's log lines, whole lines, however it was written."""

from __future__ import annotations

import io

from local.testing.recording import PrintRouter, _lines


def test_prints_become_whole_lines_of_the_running_invocation_and_others_pass_through() -> None:
    outside = io.StringIO()
    router = PrintRouter(outside)
    lines: list[str] = []
    token = _lines.set(lines)
    try:
        print("shouting", "a.txt", file=router)
        router.write("half ")
        router.write("a line\nand an unfinished one")
        router.finish(lines)
    finally:
        _lines.reset(token)
    router.write("not a handler's\n")
    assert lines == ["shouting a.txt", "half a line", "and an unfinished one"]
    assert outside.getvalue() == "not a handler's\n"
