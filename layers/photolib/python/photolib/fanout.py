"""One blocking XREAD per process and stream, shared by every SSE stream the process serves.

Without it each open stream runs its own XREAD BLOCK, so one event is read, decoded and
filtered once per stream; with 500 streams that work, serialised by the GIL, is most of the
publish -> delivery time (bench/bench_sse.py). The fan-out holds the entries it has read since
it started (a bounded window); a stream whose cursor is inside the window waits here, one
that is older (a reconnect after a while) catches up from Redis itself and then joins.
"""

from __future__ import annotations

import bisect
import logging
import sys
import threading
import time
from typing import Any, cast

import redis

from photolib.feed import Entry, parse_id, xread

log = logging.getLogger(__name__)

IDLE_EXIT_SECONDS = 30.0  # the reader thread stops when no stream has waited for this long
POLL_MS = 1000  # how long one XREAD blocks: also how soon an idle reader notices it may stop


class Fanout:
    def __init__(self, client: redis.Redis, stream: str, window: int = 10_000) -> None:
        self.client, self.stream, self.window = client, stream, window
        self._cond = threading.Condition()
        self._entries: list[Entry] = []
        self._keys: list[tuple[int, int]] = []
        self._floor = (0, 0)  # every entry after this id is in the window
        self._thread: threading.Thread | None = None
        self._waiting = 0
        self._idle_since = time.monotonic()

    def wait_after(self, cursor: str, timeout: float) -> list[Entry] | None:
        """Entries after cursor, waiting up to timeout for the first; [] at the timeout; None when
        the cursor is older than the window (read Redis directly until it is not)."""
        key, deadline = parse_id(cursor), time.monotonic() + timeout
        with self._cond:
            self._start()
            self._waiting += 1
            try:
                # "0" asks for everything retained: Redis says what that is, not the window.
                while key != (0, 0) and key >= self._floor:
                    i = bisect.bisect_right(self._keys, key)
                    if i < len(self._entries):
                        return self._entries[i:]
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return []
                    self._cond.wait(remaining)
                return None
            finally:
                self._waiting -= 1
                self._idle_since = time.monotonic()

    def _start(self) -> None:  # under the lock
        if self._thread is not None:
            return
        newest = cast(list[Any], self.client.xrevrange(self.stream, count=1))
        last = str(newest[0][0]) if newest else "0-0"
        self._entries, self._keys, self._floor = [], [], parse_id(last)
        self._thread = threading.Thread(target=self._run, args=(last,), name=f"fanout-{self.stream}", daemon=True)
        self._thread.start()

    def _run(self, cursor: str) -> None:
        try:
            self._read(cursor)
        except Exception:
            log.exception("fan-out reader of %s stopped; streams read Redis directly until it restarts", self.stream)
            with self._cond:
                self._thread = None
                self._floor = (sys.maxsize, sys.maxsize)  # every cursor is "older than the window": read Redis
                self._cond.notify_all()

    def _read(self, cursor: str) -> None:
        backoff = 0.1
        while True:
            with self._cond:
                if not self._waiting and time.monotonic() - self._idle_since > IDLE_EXIT_SECONDS:
                    self._thread = None
                    return
            try:
                new = xread(self.client, self.stream, cursor, POLL_MS, 1000)
            except redis.RedisError as exc:  # streams keep their heartbeats meanwhile
                with self._cond:
                    if not self._waiting:  # nobody to serve: stop; the next waiter starts a reader
                        self._thread = None
                        return
                log.warning("fan-out reader of %s: %s; retrying in %.1f s", self.stream, exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.1
            if not new:
                continue
            cursor = new[-1].stream_id
            with self._cond:
                self._entries.extend(new)
                self._keys.extend(e.key for e in new)
                if len(self._entries) > 2 * self.window:  # trim in halves, not on every append
                    cut = len(self._entries) - self.window
                    self._floor = self._keys[cut - 1]
                    del self._entries[:cut], self._keys[:cut]
                self._cond.notify_all()


_lock = threading.Lock()
_fanouts: dict[tuple[int, str], Fanout] = {}


def shared(client: redis.Redis, stream: str) -> Fanout:
    """The process's fan-out for this Redis client (one per URL, see feed.reader_client) and stream."""
    with _lock:
        if (id(client), stream) not in _fanouts:
            _fanouts[(id(client), stream)] = Fanout(client, stream)
        return _fanouts[(id(client), stream)]
