"""notify (HTTP API): a client's photo events, live.

GET /events/stream   Server-Sent Events. `id:` is the stream id; Last-Event-ID (header, or the
                     `last_event_id` query for clients that cannot set it) resumes with nothing lost;
                     a `: heartbeat` comment every SSE_HEARTBEAT_SECONDS keeps proxies from closing it;
                     an `event: reset` says the asked-for id is older than the stream retains.
GET /events          Long-poll twin: ?after=ID&timeout=S returns as soon as events exist after ID,
                     or an empty list at the timeout (at most LONGPOLL_MAX_SECONDS, under API Gateway's 29 s).

Both take ?photo_id= and ?session_id= filters and need a client token; a client sees only its own events.
On Lambda a response cannot stream (SSE_STREAMING=false): /events/stream then answers one long-poll
round in SSE format and the browser's EventSource reconnects with Last-Event-ID by itself.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from typing import Any

from photolib import auth, fanout
from photolib.config import Settings, load_settings
from photolib.db import open_repository
from photolib.exceptions import Unauthorized
from photolib.feed import BEGINNING, Entry, Feed, Filter, InvalidStreamId, Start, reader_client
from photolib.http import ApiError, Response, json_response
from photolib.models import HttpApiEvent

log = logging.getLogger(__name__)

RECONNECT_MS = 1000  # what EventSource waits before reconnecting after the stream ends



def handler(event: dict[str, Any], context: Any) -> Response:
    request = HttpApiEvent.model_validate(event)
    settings = load_settings()
    try:
        route = _ROUTES.get(_route_key(request))
        if route is None:
            raise ApiError(404, "no_route", f"no route for {request.rawPath}; routes: GET /events, GET /events/stream")
        try:
            # Only the stream takes ?access_token=: it is what EventSource, which sets no headers, opens.
            client_id = auth.client_of(request, settings, query_token=route is stream)
        except Unauthorized as exc:
            raise ApiError(401, exc.code, exc.message) from None
        return route(request, settings, _feed(request, settings, client_id))
    except ApiError as exc:
        return exc.response()


# --- routes ---------------------------------------------------------------------------------


def stream(request: HttpApiEvent, settings: Settings, feed: Feed) -> Response:
    resume = request.header("last-event-id") or request.queryStringParameters.get("last_event_id")
    start = _start(feed, resume)
    headers = {"content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no"}
    if not settings.sse_streaming:
        return {"statusCode": 200, "headers": headers, "body": "".join(_one_round(feed, start, settings))}
    # The body is an iterator: the emulator's gateway (and any WSGI host) streams it as it is produced.
    return {"statusCode": 200, "headers": headers, "body": _sse(feed, start, settings.sse_heartbeat_seconds)}


def long_poll(request: HttpApiEvent, settings: Settings, feed: Feed) -> Response:
    q = request.queryStringParameters
    try:
        timeout = float(q.get("timeout") or settings.longpoll_max_seconds)
    except ValueError:
        raise ApiError(400, "invalid_timeout", "timeout must be a number of seconds") from None
    if not math.isfinite(timeout):  # float() takes "nan" and "inf"
        raise ApiError(400, "invalid_timeout", "timeout must be a number of seconds")
    timeout = min(max(timeout, 0.0), settings.longpoll_max_seconds)
    start = _start(feed, q.get("after"))
    cursor, entries = _wait(feed, start.cursor, timeout)
    body: dict[str, Any] = {"events": [{"stream_id": e.stream_id, **e.event} for e in entries], "next": cursor}
    if start.reset_from:
        body["reset"] = {"oldest_id": start.reset_from, "message": _RESET_MESSAGE}
    return json_response(200, body)


_ROUTES = {("GET", "/events/stream"): stream, ("GET", "/events"): long_poll}
_RESET_MESSAGE = "events after the id you sent were trimmed from the stream; reload the photos' state"


# --- SSE ------------------------------------------------------------------------------------


def _sse(feed: Feed, start: Start, heartbeat: float) -> Iterator[str]:
    yield f"retry: {RECONNECT_MS}\n\n"
    if start.reset_from:
        yield _reset(start.reset_from)
    # Streams of this process wait on one shared XREAD; a cursor older than its window reads Redis.
    shared = fanout.shared(feed.client, feed.stream)
    cursor, beat_due = start.cursor, time.monotonic() + heartbeat
    while True:  # ends when the client goes away: the server closes this generator
        scanned = shared.wait_after(cursor, max(0.0, beat_due - time.monotonic()))
        if scanned is None:
            # Catching up returns at once; this blocks only when nothing is after the cursor, i.e. a
            # page on an empty stream (cursor 0): until the next event or heartbeat, not in 100 ms polls.
            cursor, entries = feed.read(cursor, block_ms=max(1, int((beat_due - time.monotonic()) * 1000)))
        else:
            cursor = scanned[-1].stream_id if scanned else cursor
            entries = [e for e in scanned if feed.only.matches(e)]
        if entries:
            yield "".join(_message(e) for e in entries)
            beat_due = time.monotonic() + heartbeat
        elif time.monotonic() >= beat_due:
            yield ": heartbeat\n\n"
            beat_due = time.monotonic() + heartbeat


def _one_round(feed: Feed, start: Start, settings: Settings) -> Iterator[str]:
    yield f"retry: {RECONNECT_MS}\n\n"
    if start.reset_from:
        yield _reset(start.reset_from)
    cursor, entries = _wait(feed, start.cursor, settings.longpoll_max_seconds)
    yield from (_message(e) for e in entries)
    # An id with no data moves EventSource's Last-Event-ID past other clients' events without an event.
    yield f"id: {cursor}\n\n"


def _message(entry: Entry) -> str:
    # The event as published: one line of JSON (pydantic's model_dump_json), sent without re-encoding.
    return f"id: {entry.stream_id}\ndata: {entry.raw}\n\n"


def _reset(oldest: str) -> str:
    # id 0-0: a reconnect after the reset asks for everything retained, not for the lost id again.
    data = json.dumps({"oldest_id": oldest, "message": _RESET_MESSAGE})
    return f"id: {BEGINNING}\nevent: reset\ndata: {data}\n\n"


# --- helpers --------------------------------------------------------------------------------


def _wait(feed: Feed, cursor: str, timeout: float) -> tuple[str, list[Entry]]:
    """Block until this client has events after cursor or the timeout passes (XREAD BLOCK)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        cursor, entries = feed.read(cursor, block_ms=max(1, remaining_ms) if remaining_ms > 0 else None)
        if entries or remaining_ms <= 0:
            return cursor, entries


def _feed(request: HttpApiEvent, settings: Settings, client_id: str) -> Feed:
    q = request.queryStringParameters
    photo_id, session_id = q.get("photo_id") or None, q.get("session_id") or None
    if photo_id and open_repository(settings.photos_db_path).get(photo_id, client_id=client_id) is None:
        raise ApiError(404, "not_found", f"no photo {photo_id!r}")  # another client's photo is a missing one
    block = max(settings.sse_heartbeat_seconds, settings.longpoll_max_seconds)
    client = reader_client(settings.redis_url, block)
    return Feed(client, settings.events_stream, Filter(client_id, photo_id, session_id))


def _start(feed: Feed, after: str | None) -> Start:
    try:
        return feed.start(after)
    except InvalidStreamId as exc:
        raise ApiError(400, "invalid_event_id", str(exc)) from None


def _route_key(request: HttpApiEvent) -> tuple[str, str]:
    if request.routeKey != "$default":  # API Gateway names the matched route, e.g. "GET /events"
        method, _, path = request.routeKey.partition(" ")
        return method.upper(), path
    return request.requestContext.http.method.upper(), request.rawPath.rstrip("/") or "/"


