"""One invocation on its way through an environment: queued, delivered by /next, settled once."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from lightbox.exceptions import FunctionError

# The Content-Type of a streamed response that starts with its HTTP metadata: a JSON prelude
# (statusCode, headers, cookies), 8 NUL bytes, then the body. Function URLs read the prelude; the
# Invoke APIs pass the bytes on as they are, as Lambda does.
HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"
STREAM_DELIMITER = b"\x00" * 8


class StreamBody:
    """A streamed response body (Lambda's response streaming) as the gateway reads it: the chunks
    the runtime posts, as they arrive. Closing it (the client left) hangs up on the runtime.
    `error` is set when the response ended with an error after it had started (the runtime's
    error trailers, or its process ended): the bytes so far were sent, the rest never comes."""

    def __init__(self, content_type: str = HTTP_INTEGRATION) -> None:
        self._chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.closed = threading.Event()
        self.ended = threading.Event()  # the runtime sent all it will send
        self.hang_up: Callable[[], None] = lambda: None
        self.content_type = content_type
        self.prelude: bytes | None = None  # the raw JSON prelude of an http-integration response
        self.error: FunctionError | None = None

    def put(self, chunk: bytes) -> None:
        self._chunks.put(chunk)

    def end(self) -> None:
        if not self.ended.is_set():
            self.ended.set()
            self._chunks.put(None)

    def fail(self, error: FunctionError) -> None:
        """The response stops here with an error (the first reason given is kept)."""
        if not self.ended.is_set():
            self.error = error
            self.end()

    def raw_prefix(self) -> bytes:
        """What came before the body on the wire: the prelude and its delimiter, if any."""
        return b"" if self.prelude is None else self.prelude + STREAM_DELIMITER

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.closed.is_set():
            raise StopIteration
        chunk = self._chunks.get()
        if chunk is None:
            self.closed.set()
            raise StopIteration
        return chunk

    def close(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            self.hang_up()


@dataclass
class Pending:
    """What the host knows of one invocation; the first of response, error, exit or timeout wins."""

    request_id: str
    payload: bytes
    timeout: float
    headers: dict[str, str] = field(default_factory=dict)  # Lambda-Runtime-* headers /next sends
    delivered: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    deadline: float = 0.0  # time.monotonic() when delivered + timeout
    delivered_at: float = 0.0
    response: bytes | None = None
    prelude: bytes | None = None  # a streamed response's JSON prelude
    stream: StreamBody | None = None
    error: FunctionError | None = None
    # An eventfd the settle counts up: the thread reading the runtime's answer on one connection
    # (RuntimeApiConnection.serve_until) learns of a settle that came another way.
    wakeup_fd: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self) -> int:
        """Handed to the runtime by /next: the clock of its Timeout starts; the wall-clock deadline in ms."""
        self.delivered_at = time.monotonic()
        self.deadline = self.delivered_at + self.timeout
        self.delivered.set()
        return int((time.time() + self.timeout) * 1000)

    def settle(self, *, response: bytes | None = None, error: FunctionError | None = None,
               prelude: bytes | None = None, stream: StreamBody | None = None) -> bool:
        with self._lock:
            if self.done.is_set():
                return False
            self.response, self.error, self.prelude, self.stream = response, error, prelude, stream
            self.delivered.set()
            self.done.set()
            if self.wakeup_fd is not None:  # (under the lock: see detach)
                os.eventfd_write(self.wakeup_fd, 1)
            return True

    def detach(self) -> None:
        """Its invocation is over: a late settle (an answer after the timeout) writes no fd, which may
        be closed, and its number another file's, by then."""
        with self._lock:
            self.wakeup_fd = None


def wait_settled(pending: Pending, init_limit: float | None) -> bool:
    """Until `pending` is settled or its Timeout (counted from its delivery) has passed; False when
    its runtime never asked for it within `init_limit` (None: no limit). One wait in the usual case:
    waking on the delivery as well cost every invocation a thread switch."""
    queued = time.monotonic()
    while True:
        now = time.monotonic()
        if pending.delivered.is_set():
            wait = pending.deadline - now
            if wait <= 0:
                return True
        elif init_limit is not None and now - queued >= init_limit:
            return pending.delivered.is_set()
        else:  # the Timeout starts at the delivery, which comes at the soonest now
            wait = pending.timeout if init_limit is None else min(pending.timeout, init_limit - (now - queued))
        if pending.done.wait(wait):
            return True
