"""The shared reader behind SSE streams, on a real Redis: waiting, the bounded window, catching up."""

from __future__ import annotations

import threading
import time

import redis

from photolib.fanout import Fanout
from photolib.feed import reader_client


def test_waiters_get_what_follows_their_cursor_and_old_cursors_are_sent_to_redis(redis_url: str) -> None:
    client = reader_client(redis_url, 5.0)
    raw = redis.Redis.from_url(redis_url)
    before = raw.xadd("s", {"event": "{}", "client_id": "a"}).decode()
    fan = Fanout(client, "s", window=4)
    assert fan.wait_after(before, 0.05) == []  # nothing new yet: empty at the timeout
    assert fan.wait_after("0", 0.05) is None  # everything retained is Redis's to say

    got: list[list[str]] = []
    waiter = threading.Thread(target=lambda: got.append([e.stream_id for e in fan.wait_after(before, 10) or []]))
    waiter.start()
    time.sleep(0.2)
    ids = [raw.xadd("s", {"event": f'{{"n": {i}}}', "client_id": "a"}).decode() for i in range(12)]
    waiter.join(timeout=10)
    assert got and got[0] == ids[: len(got[0])] and got[0]  # woken by the first, in order

    deadline = time.monotonic() + 10
    while (fan.wait_after(ids[-2], 0.1) or [None])[-1] is None and time.monotonic() < deadline:
        pass  # the reader thread has read up to the newest
    tail = fan.wait_after(ids[-2], 1)
    assert tail is not None and [e.stream_id for e in tail] == ids[-1:] and tail[0].event == {"n": 11}
    # The window kept at most 2 x 4 entries: a cursor before it must read Redis itself.
    assert fan.wait_after(ids[0], 0.05) is None
    assert [e.stream_id for e in fan.wait_after(ids[-5], 1) or []] == ids[-4:]


class _BreaksOnRead(redis.Redis):
    """A real client whose stream reads hit a bug (not a Redis error) until `healed`."""

    healed = False

    def xread(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not self.healed:
            raise RuntimeError("a bug in the reader")
        return super().xread(*args, **kwargs)


def test_a_reader_that_dies_sends_streams_to_redis_and_the_next_waiter_restarts_it(redis_url: str) -> None:
    raw = redis.Redis.from_url(redis_url)
    before = raw.xadd("broken", {"event": "{}", "client_id": "a"}).decode()
    client = _BreaksOnRead.from_url(redis_url, decode_responses=True, socket_timeout=15)
    fan = Fanout(client, "broken")
    # The reader thread dies at once; a waiter is told to read Redis itself instead of hearing nothing.
    assert fan.wait_after(before, 5) is None
    client.healed = True
    after = raw.xadd("broken", {"event": '{"n": 1}', "client_id": "a"}).decode()
    got = fan.wait_after(before, 5)  # restarted from the newest entry, so it serves what follows that
    assert got is None or [e.stream_id for e in got] == [after]
    newest = raw.xadd("broken", {"event": '{"n": 2}', "client_id": "a"}).decode()
    assert [e.stream_id for e in fan.wait_after(after, 5) or []] == [newest]
