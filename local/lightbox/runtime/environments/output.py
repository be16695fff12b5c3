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
            poller = self._poller()
            while True:
                poller.poll()
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
        try:
            poller = self._poller()
        except (OSError, ValueError):  # closed: the process ended and the pump is done
            return
        while time.monotonic() < deadline:
            with self._handing:  # a read is handed on whole under this lock: empty now is empty
                ready = poller.poll(0)
                if not ready or not ready[0][1] & select.POLLIN:  # nothing to read (a hang-up, or closed)
                    return
            time.sleep(0.0005)

    def _poller(self) -> select.poll:
        poller = select.poll()  # not select(): a busy host has fds past its 1024
        poller.register(self.pipe.fileno(), select.POLLIN)
        return poller
