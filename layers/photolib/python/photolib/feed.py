"""Read the event stream as one client sees it: resume after a stream id, keep only the client's
(and, if asked, one photo's or one session's) events, and notice when history was trimmed away.

Stream ids are Redis's own ("1700000000000-0"); they order the stream and are what SSE clients
send back as Last-Event-ID. "0" (or "0-0") asks for everything still retained.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any, cast

import redis

_STREAM_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")
BEGINNING = "0-0"
_XRead = list[tuple[str, list[tuple[str, dict[str, str]]]]] | None  # XREAD's reply, decoded


class InvalidStreamId(ValueError):
    """A cursor this API did not hand out."""


def parse_id(value: str) -> tuple[int, int]:
    if not _STREAM_ID.match(value):
        raise InvalidStreamId(f"{value!r} is not an event id; send back the id of the last event you received")
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


MAX_READERS = 10_000  # Redis's own default maxclients


@functools.lru_cache(maxsize=8)
def reader_client(url: str, block_seconds: float) -> redis.Redis:
    # Blocking reads hold a connection for up to block_seconds: the socket timeout must outlast them.
    # Every open stream holds one connection while it waits, so the pool must not stop at redis-py's
    # default of 100 (the 101st stream would fail with MaxConnectionsError).
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=block_seconds + 10,
                                health_check_interval=30, decode_responses=True, max_connections=MAX_READERS)


class Entry:
    """One stream entry. The event stays the JSON text it was published as until someone needs
    the object: an SSE stream sends the text as is, so a busy stream parses nothing."""

    __slots__ = ("_event", "fields", "key", "stream_id")

    def __init__(self, stream_id: str, fields: dict[str, str]) -> None:
        self.stream_id, self.key, self.fields = stream_id, parse_id(stream_id), fields
        self._event: dict[str, Any] | None = None

    @property
    def raw(self) -> str:
        return self.fields.get("event") or "{}"

    @property
    def event(self) -> dict[str, Any]:
        if self._event is None:
            self._event = json.loads(self.raw)
        return self._event


@dataclass(frozen=True)
class Filter:
    client_id: str
    photo_id: str | None = None
    session_id: str | None = None

    def matches(self, entry: Entry) -> bool:
        if entry.fields.get("client_id") != self.client_id:
            return False
        if self.photo_id and entry.fields.get("photo_id") != self.photo_id:
            return False
        return not self.session_id or (entry.event.get("metadata") or {}).get("session_id") == self.session_id


@dataclass(frozen=True)
class Start:
    cursor: str  # read entries after this id
    reset_from: str | None = None  # set when the asked-for id is older than what the stream retains


class Feed:
    def __init__(self, client: redis.Redis, stream: str, only: Filter) -> None:
        self.client, self.stream, self.only = client, stream, only

    def last_id(self) -> str:
        newest = cast(list[Any], self.client.xrevrange(self.stream, count=1))
        return str(newest[0][0]) if newest else BEGINNING

    def start(self, after: str | None) -> Start:
        """Where to read from. No id means "from now on"; an id older than the oldest retained
        entry means events were trimmed away: the reader is told (reset) and starts at the oldest."""
        if after is None:
            return Start(self.last_id())
        asked = parse_id(after)
        if asked == (0, 0):
            return Start(BEGINNING)
        oldest = cast(list[Any], self.client.xrange(self.stream, count=1))
        if oldest and asked < parse_id(str(oldest[0][0])):
            return Start(BEGINNING, reset_from=str(oldest[0][0]))
        return Start(after)

    def read(self, cursor: str, block_ms: int | None, count: int = 500) -> tuple[str, list[Entry]]:
        """Entries after cursor for this reader (blocking up to block_ms when there are none yet),
        and the new cursor: past everything scanned, the other clients' entries too."""
        scanned = xread(self.client, self.stream, cursor, block_ms, count)
        return (scanned[-1].stream_id if scanned else cursor), [e for e in scanned if self.only.matches(e)]


def xread(client: redis.Redis, stream: str, cursor: str, block_ms: int | None, count: int) -> list[Entry]:
    found = cast(_XRead, client.xread({stream: cursor}, count=count, block=block_ms))
    return [Entry(str(stream_id), fields) for _, rows in found or () for stream_id, fields in rows]
