"""Children that die with their parent, however it ends (Ctrl-C, SIGTERM, SIGKILL, a crash).

Two mechanisms, because each misses something:
- PR_SET_PDEATHSIG (Linux): the kernel sends SIGKILL to a child when the *thread* that started it
  ends. Set between fork and exec, so it covers programs that are not ours (redis-server); only for
  children started from the main thread, whose end is the process's.
- A lifeline pipe: the parent holds the only write end; each child `lightbox` process reads the
  other in a thread and ends itself on EOF, which the kernel delivers when the parent ends in any
  way. It also reaches what PDEATHSIG misses: processes forked inside a child (RQ's scheduler),
  through an at-fork hook, and children started from a thread that ends before the process.
  A forked process follows the lifeline only: RQ's scheduler outlives a worker that is killed (it
  keeps the scheduler lock alive, so retries keep being scheduled, as before) but not `lightbox up`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import stat
import sys
import threading
from collections.abc import Callable
from typing import Any

from lightbox import config

_PR_SET_PDEATHSIG = 1
_libc: Any = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None
_lifeline: tuple[int, int] | None = None  # (read end for children, write end held here)
_lock = threading.Lock()


def _die_with(parent: int) -> None:
    """In the child before exec: SIGKILL when the parent thread ends; and if the parent is already gone
    (it ended between fork and here), end now."""
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _from_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def lifeline() -> int:
    """The read end of this process's lifeline, made on first use (the write end is never inherited)."""
    global _lifeline
    with _lock:
        if _lifeline is None:
            read, write = os.pipe()
            _lifeline = (read, write)
        return _lifeline[0]


def child_options(env: dict[str, str] | None = None) -> dict[str, Any]:
    """Popen keyword arguments for a child that must not outlive this process."""
    read = lifeline()
    full = dict(os.environ if env is None else env)
    full[config.LIFELINE_VAR] = str(read)
    options: dict[str, Any] = {"env": full, "pass_fds": (read,)}
    if _from_main_thread():
        parent = os.getpid()
        preexec: Callable[[], None] = lambda: _die_with(parent)  # noqa: E731 - bound to this parent
        options["preexec_fn"] = preexec
    return options


def _watch(fd: int) -> None:
    def wait() -> None:
        try:
            while os.read(fd, 1):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGKILL)  # the parent is gone: nothing here has anyone to serve

    threading.Thread(target=wait, name="lightbox-lifeline", daemon=True).start()


def follow_lifeline() -> None:
    """In a child started with child_options: end when the parent ends, and so do processes forked here."""
    given = os.environ.get(config.LIFELINE_VAR)
    if not given or not given.isdigit():
        return
    fd = int(given)
    try:
        inherited = stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        inherited = False
    if not inherited:  # the variable came along, the pipe did not (a process started some other way)
        return
    _watch(fd)
    # A fork keeps only the forking thread: a forked process watches the lifeline again.
    os.register_at_fork(after_in_child=lambda: _watch(fd))
