"""What an environment's process writes (stdout and stderr, one pipe), line by line to its log."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable
from typing import IO


class OutputPump:
    """Raw reads of the pipe (no buffer of Python's in between), each read handed on whole under a
    lock, so `drain` can tell when all that was written so far is logged."""

    def __init__(self, pipe: IO[bytes], on_line: Callable[[str], None]) -> None:
        self.pipe, self.on_line = pipe, on_line
        self._handing = threading.Lock()  # held while a read is being handed on

    def run(self) -> None:
        with self.pipe:
            fd, rest = self.pipe.fileno(), b""
            while True:
                select.select([fd], [], [])
                with self._handing:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    *lines, rest = (rest + chunk).split(b"\n")
                    for raw in lines:
                        self.on_line(raw.decode("utf-8", "replace"))
            if rest:
                self.on_line(rest.decode("utf-8", "replace"))

    def drain(self, limit: float = 1.0) -> None:
        """Wait until what the function wrote before it answered is logged, so its lines come before
        its END line (and into its LogType Tail), as on Lambda. The runtimes flush before answering."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            with self._handing:  # a read is handed on whole under this lock: empty now is empty
                try:
                    if not select.select([self.pipe.fileno()], [], [], 0)[0]:
                        return
                except (OSError, ValueError):  # closed: the process ended and the pump is done
                    return
            time.sleep(0.0005)
