"""The environments of each function: warm reuse, concurrency up to a limit, then throttling;
idle ones end, and a memory watchdog kills an environment whose process tree passes MemorySize."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from lightbox.exceptions import Throttled
from lightbox.runtime.environments.environment import Environment, Spec

WATCH_INTERVAL_SECONDS = 0.05  # how often busy environments' memory is read (a few /proc reads)


@dataclass
class Limits:
    max_concurrency: int  # environments per function when the template reserves none
    idle_seconds: float  # an environment idle this long ends
    enforce_memory: bool


class FunctionPool:
    """The environments of one function (one version of its code: a reload retires the pool)."""

    def __init__(self, spec: Spec, limit: int) -> None:
        self.spec = spec
        self.limit = limit
        self.idle: list[Environment] = []
        self.busy: set[Environment] = set()
        self.closed = False
        self._cond = threading.Condition()

    def acquire(self, wait: bool) -> tuple[Environment, bool]:
        """A warm environment, else a new one (cold: True); at the limit, throttled or wait."""
        with self._cond:
            while True:
                while self.idle:
                    env = self.idle.pop()
                    if not env.dead:
                        self.busy.add(env)
                        env.unpark()
                        return env, False
                if len(self.busy) < self.limit:
                    break
                if not wait:
                    raise Throttled("Rate Exceeded.")
                self._cond.wait(1.0)
            env = Environment(self.spec)
            self.busy.add(env)
        try:
            return env.start(), True
        except BaseException:
            self.release(env)
            env.close()
            raise

    def release(self, env: Environment) -> None:
        with self._cond:
            self.busy.discard(env)
            if env.dead or self.closed:
                env.close()
            else:
                env.idle_since = time.monotonic()
                env.park()
                self.idle.append(env)
            self._cond.notify()

    def close(self) -> None:
        """Idle environments end now; busy ones when their invocation ends."""
        with self._cond:
            self.closed, idle, self.idle = True, self.idle, []
            self._cond.notify_all()
        for env in idle:
            env.close()

    def kill_all(self) -> None:
        self.close()
        with self._cond:
            busy = list(self.busy)
        for env in busy:
            env.close()

    def reap(self, idle_seconds: float) -> None:
        now = time.monotonic()
        with self._cond:
            # A debugged environment stays while its debugging session may go on.
            old = [e for e in self.idle
                   if e.dead or (now - e.idle_since > idle_seconds and e.function.debug_port is None)]
            self.idle = [e for e in self.idle if e not in old]
        for env in old:
            env.close()


class Watchdog:
    """One thread per host: memory of busy environments, and idle ones past their time."""

    def __init__(self, pools: Callable[[], list[FunctionPool]], limits: Limits) -> None:
        self.pools, self.limits = pools, limits
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lambda-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        last_reap = time.monotonic()
        while not self._stop.wait(WATCH_INTERVAL_SECONDS):
            pools = self.pools()
            if self.limits.enforce_memory:
                for pool in pools:
                    for env in list(pool.busy):
                        if not env.dead and env.proc is not None and env.rss_mb() > env.function.memory_size:
                            env.out_of_memory()
            if time.monotonic() - last_reap > min(1.0, self.limits.idle_seconds):
                last_reap = time.monotonic()
                for pool in pools:
                    pool.reap(self.limits.idle_seconds)
