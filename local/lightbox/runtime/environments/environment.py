"""One execution environment: a process of one function, its Runtime API, one invocation at a time."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lightbox.exceptions import FunctionError
from lightbox.logs import after_response, responding
from lightbox.runtime.environments import faults, launch
from lightbox.runtime.environments.api import RuntimeApiServer
from lightbox.runtime.environments.connection import RuntimeApiConnection
from lightbox.runtime.environments.invocation import Pending, StreamBody, wait_settled
from lightbox.runtime.environments.memory import PeakMemory, tree_rss_mb
from lightbox.runtime.environments.output import OutputPump
from lightbox.runtime.environments.runtimes import Launch
from lightbox.template.model import Function

# Lambda's init phase has a limit of its own, apart from the function's Timeout.
INIT_TIMEOUT_SECONDS = 10.0


@dataclass
class Spec:
    """What an environment of a function is started with."""

    function: Function
    launch: Launch
    base_env: dict[str, str]  # the emulator's environment, its endpoints and the template's Environment
    region: str
    on_output: Callable[[Environment, str], None]


class Environment:
    """A warm process of one function. `invoke` runs one invocation to its end: response, error,
    the process's exit (Runtime.ExitError), Timeout (the process is killed) or the memory watchdog."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.id = uuid.uuid4().hex
        self.function = spec.function
        self.log_stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{self.id}"
        self.init_ms: float | None = None  # from process start to its first /next: Init Duration
        self.current: Pending | None = None
        # A streamed response holds the environment until its runtime asks for the next event.
        self._after_stream: Callable[[], None] | None = None
        self._polling = False  # the runtime waits in /next: the last invocation is over
        self._release_lock = threading.Lock()
        self._log_lock = threading.Lock()
        self._wakeup = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)  # see Pending.wakeup_fd
        weakref.finalize(self, os.close, self._wakeup)
        self._opening: str | None = None  # the invocation's START line, until its first output or its end writes it
        self.idle_since = time.monotonic()
        self.dead = False
        self._oom = False
        # Idle environments are frozen (SIGSTOP), as Lambda freezes one between invocations: a
        # thread the function left running (a poller, a heartbeat) does not run while nobody calls.
        self._parked = False
        self._frozen = False
        self._freeze_lock = threading.Lock()
        # The hand-off of an invocation to the runtime: its /next waiting, or an invocation waiting for its /next.
        self._handoff = threading.Lock()
        self._next: RuntimeApiConnection | None = None  # lent by its thread while the runtime waits
        self._queued: Pending | None = None
        # Lent, its answer read, to be given back once the HTTP response is out (or before its next use).
        self._returning: RuntimeApiConnection | None = None
        self._ending = False
        self._api = RuntimeApiServer(self)
        self._tmp = Path(tempfile.mkdtemp(prefix=f"lambda-{re.sub(r'[^A-Za-z0-9_.-]', '_', spec.function.name)}-"))
        self._started = 0.0
        self._output: OutputPump | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._peak: PeakMemory | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Environment:
        self._api.start()
        fn = self.function
        lambda_vars = launch.lambda_variables(fn, self._api.address, self.spec.region, self.log_stream)
        env = launch.process_env(self.spec.base_env, fn, self.spec.launch, lambda_vars, self._tmp)
        self._started = time.monotonic()
        self.proc = launch.spawn(self.spec.launch.argv, env, fn.code_uri)
        self._peak = PeakMemory(self.proc.pid)
        assert self.proc.stdout is not None
        self._output = OutputPump(self.proc.stdout, lambda line: self.spec.on_output(self, line))
        threading.Thread(target=self._output.run, name=f"lambda-{fn.name}-output", daemon=True).start()
        threading.Thread(target=self._watch, name=f"lambda-{fn.name}-exit", daemon=True).start()
        return self

    # -- the Runtime API's side (api.Endpoint) -----------------------------------------------
    def wait_next(self, connection: RuntimeApiConnection) -> None:
        """The runtime asks for its next event: given now if one is queued (or the environment is
        ending: None), else by the thread that invokes, straight onto the runtime's connection."""
        if self.init_ms is None:
            self.init_ms = (time.monotonic() - self._started) * 1000
        self._stream_over(polling=True)
        with self._handoff:
            pending, self._queued = self._queued, None
            waits = pending is None and not self._ending
            if waits:
                connection.lend()
                self._next = connection
        if waits:
            with self._freeze_lock:
                self._freeze()  # if it was parked meanwhile (or warmed ahead of use)
            return
        self._hand(connection, pending)

    def _hand(self, connection: RuntimeApiConnection, pending: Pending | None) -> None:
        if pending is not None:
            with self._release_lock:
                self._polling = False
        connection.deliver(pending)
        self._thaw()  # after the write: the runtime, thawed, finds its event (one wake of it, not two)

    def _give_back(self) -> None:
        with self._handoff:
            returning, self._returning = self._returning, None
        # After an HTTP response this thread reads the runtime's /next itself (its client has its answer);
        # otherwise (a queue's poller, a direct invoke) its caller goes on, and the connection's thread does.
        if returning is not None and not (responding() and returning.take_next()):
            returning.give_back()

    def _end_waiting(self) -> None:
        """Ending: a runtime waiting for an event is told so (410); a later /next is too."""
        self._give_back()
        with self._handoff:
            self._ending = True
            waiting, self._next = self._next, None
        if waiting is not None:
            waiting.deliver(None)

    def _stream_over(self, polling: bool = False) -> None:
        with self._release_lock:
            release, self._after_stream = self._after_stream, None
            self._polling = self._polling or polling
        if release is not None:
            release()

    def release_after_stream(self, release: Callable[[], None]) -> None:
        """A streamed invocation frees the environment once its runtime asks for the next event,
        which a short stream may have done already."""
        with self._release_lock:
            if not (self._polling or self.dead):
                self._after_stream = release
                return
        release()

    def open_log(self, start_line: str) -> None:
        with self._log_lock:
            self._opening = start_line

    def take_opening(self) -> str | None:
        """The current invocation's START line if nobody has written it yet (then it is the caller's to)."""
        with self._log_lock:
            line, self._opening = self._opening, None
        return line

    def pending(self, request_id: str) -> Pending | None:
        current = self.current
        return current if current is not None and current.request_id == request_id else None

    def init_failed(self, error: FunctionError) -> None:
        self.dead = True  # its runtime exits now; the next invocation starts a new environment
        current = self.current
        if current is not None:
            current.settle(error=error)

    # -- the host's side ---------------------------------------------------------------------
    def invoke(self, pending: Pending, handed: Callable[[], None] = lambda: None) -> None:
        """Returns once `pending` is settled; a timed-out environment is killed and dead after.
        `handed` runs meanwhile once the event is queued for the runtime, or once its answer takes
        longer than a moment (connection.LASTING_MS); not at all for a quick answer."""
        self.current = pending
        if self.dead:
            pending.settle(error=faults.exited(pending.request_id, self._returncode()))
            return
        pending.wakeup_fd = self._wakeup
        try:
            self._invoke(pending, handed)
        finally:
            pending.detach()

    def _invoke(self, pending: Pending, handed: Callable[[], None]) -> None:
        self._give_back()  # one request invoking this function again: its runtime's /next is read first
        with self._handoff:
            waiting, self._next = self._next, None
            if waiting is None:
                self._queued = pending  # its runtime is still starting (or busy ending a stream)
        if waiting is not None:
            # Written, and its answer read, by this thread: a hand-over to the API's thread each way
            # cost a thread switch.
            self._hand(waiting, pending)
            if waiting.serve_until(pending, self._wakeup, handed):  # its thread, woken now, would take the GIL
                self._returning = waiting  # from this one while it answers its client: woken after that
                after_response(self._give_back)
        else:
            handed()
        # Under a debugger the init waits for an attach, for as long as that takes.
        if not wait_settled(pending, None if self.function.debug_port is not None else INIT_TIMEOUT_SECONDS):
            if pending.settle(error=faults.timed_out(pending.request_id, INIT_TIMEOUT_SECONDS)):
                self.kill()  # its init never ended
            return
        timed_out = not pending.done.is_set()
        if timed_out and pending.settle(error=faults.timed_out(pending.request_id, pending.timeout)):
            self.kill()  # a frozen sandbox would hold a CPU forever: it is ended instead
        elif pending.stream is not None and not self.function.runtime.startswith("python"):
            # Lambda's Timeout counts until the stream ends. Python generator bodies (server-sent
            # events, which Lambda's Python runtime cannot stream) are left to run as long as they do.
            threading.Thread(target=self._stream_deadline, args=(pending, pending.stream), daemon=True,
                             name=f"lambda-{self.function.name}-stream").start()

    def _stream_deadline(self, pending: Pending, stream: StreamBody) -> None:
        if not stream.ended.wait(max(0.0, pending.deadline - time.monotonic())):
            stream.fail(faults.timed_out(pending.request_id, pending.timeout))
            self.kill()

    def park(self) -> None:
        """Idle: freeze it (once its init is done; until then it goes on importing). One under a debugger
        stays thawed: the debugger's own threads answer the attached client."""
        with self._freeze_lock:
            self._parked = self.function.debug_port is None
            self._freeze()

    def _freeze(self) -> None:
        """Parked, and its runtime waits in /next (its init done, its answer to the last invocation sent
        and acknowledged): frozen now. Frozen sooner, a runtime would send its /next only once thawed
        by the next invocation, which would then wait for it."""
        if self._parked and self._next is not None and not self._frozen and not self.dead:
            self._signal(signal.SIGSTOP)
            self._frozen = True

    def unpark(self) -> None:
        """In use again: thawed once its event is written (_hand). Whatever ends it kills it first."""
        with self._freeze_lock:
            self._parked = False

    def _thaw(self) -> None:
        with self._freeze_lock:
            if self._frozen:
                self._signal(signal.SIGCONT)
                self._frozen = False

    def _signal(self, sig: int) -> None:
        if self.proc is not None:
            launch.signal_group(self.proc, sig)

    def rss_mb(self) -> float:
        return tree_rss_mb(self.pid) if self.proc is not None and not self.dead else 0.0

    def peak_mb(self) -> float:
        return self._peak.read_mb() if self._peak is not None else 0.0

    def out_of_memory(self) -> None:
        """The watchdog saw the process tree over MemorySize."""
        self._oom = True
        self.kill()

    def kill(self) -> None:
        self.dead = True
        if self.proc is not None:
            launch.kill(self.proc)

    def close(self) -> None:
        """Retire: the process ends now (an invocation running on it fails with its exit)."""
        self.kill()
        self._end_waiting()

    def _returncode(self) -> int:
        return self.proc.poll() or 0 if self.proc is not None else 0

    def _watch(self) -> None:
        assert self.proc is not None
        code = self.proc.wait()
        self.dead = True
        current = self.current
        if current is not None:
            error = faults.out_of_memory(current.request_id) if self._oom else faults.exited(current.request_id, code)
            current.settle(error=error)
            if current.stream is not None:  # mid-stream: the response ends with the exit's error
                current.stream.fail(error)
        self._end_waiting()
        self._stream_over()
        self._api.stop()
        if self._peak is not None:
            self._peak.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def drain_output(self, limit: float = 1.0) -> None:
        """What the function wrote before it answered is logged before this returns (OutputPump.drain)."""
        if self._output is not None and not self.dead:
            self._output.drain(limit)
