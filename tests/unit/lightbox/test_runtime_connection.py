"""The borrower's side of a runtime's connection (connection.RuntimeApiConnection), on a real socket
pair: the runtime's end is driven by the test as a runtime would drive it."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator

import pytest

from lightbox import logs
from lightbox.exceptions import FunctionError
from lightbox.runtime.environments.connection import SLOW_AFTER_MISSES, RuntimeApiConnection
from lightbox.runtime.environments.invocation import Pending

NEXT = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"


class Endpoint:
    """An environment with no process: it lends the connection whenever the runtime waits."""

    def __init__(self, current: Pending) -> None:
        self.current = current
        self.waits = 0

    def wait_next(self, connection: RuntimeApiConnection) -> None:
        self.waits += 1
        connection.lend()

    def pending(self, request_id: str) -> Pending | None:
        return self.current if request_id == self.current.request_id else None

    def init_failed(self, error: FunctionError) -> None:
        raise AssertionError(error)


@pytest.fixture
def wired() -> Iterator[tuple[RuntimeApiConnection, socket.socket, Endpoint]]:
    host, runtime = socket.socketpair()
    endpoint = Endpoint(Pending("req-1", b"{}", 3.0))
    with host, runtime, host.makefile("rb") as rfile:
        conn = RuntimeApiConnection(endpoint, host, rfile)
        conn.lend()
        yield conn, runtime, endpoint


def answer(runtime: socket.socket, body: bytes = b'"ok"') -> None:
    runtime.sendall(b"POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


def read_answer(conn: RuntimeApiConnection, runtime: socket.socket, pending: Pending, after: float = 0.0) -> int:
    """The runtime answers `after` seconds after its event; how often `lasting` was called meanwhile."""
    wakeup = os.eventfd(0, os.EFD_NONBLOCK)
    lasting: list[int] = []
    try:
        conn.deliver(pending)
        assert runtime.recv(65536).startswith(b"HTTP/1.1 200 OK")  # the event
        later = threading.Timer(after, answer, (runtime,))
        later.start()
        assert conn.serve_until(pending, wakeup, lambda: lasting.append(1)) is True  # read here: still lent
        later.join()
    finally:
        os.close(wakeup)
    assert pending.response == b'"ok"'
    return len(lasting)


def test_an_answer_read_within_an_http_request_is_acknowledged_once_the_next_request_is_taken(
        wired: tuple[RuntimeApiConnection, socket.socket, Endpoint]) -> None:
    conn, runtime, endpoint = wired
    with logs.deferring():
        assert read_answer(conn, runtime, endpoint.current) == 0  # quick: its START comes with its END
    runtime.setblocking(False)
    with pytest.raises(BlockingIOError):
        runtime.recv(1)  # no 202 yet: the HTTP response comes first
    runtime.setblocking(True)
    runtime.sendall(NEXT)
    assert conn.take_next() is True
    assert runtime.recv(1024).startswith(b"HTTP/1.1 202 Accepted")
    assert endpoint.waits == 1  # the /next was read, and the connection lent again


def test_an_answer_read_outside_an_http_request_is_acknowledged_at_once(
        wired: tuple[RuntimeApiConnection, socket.socket, Endpoint]) -> None:
    conn, runtime, endpoint = wired
    # A queue's poller, a direct invoke: nobody to answer first. A lasting answer has its START line now.
    assert read_answer(conn, runtime, endpoint.current, after=0.2) == 1
    assert runtime.recv(1024).startswith(b"HTTP/1.1 202 Accepted")


def test_a_runtime_slow_to_ask_is_given_back_and_waited_for_again_when_prompt(
        wired: tuple[RuntimeApiConnection, socket.socket, Endpoint]) -> None:
    conn, runtime, endpoint = wired
    for _ in range(SLOW_AFTER_MISSES + 1):
        assert conn.take_next() is False  # nothing came: the caller gives the connection back
    runtime.sendall(NEXT)
    assert conn.take_next() is True  # there at once: read even without a wait
    assert endpoint.waits == 1


def test_a_request_other_than_next_is_answered_and_the_connection_given_back(
        wired: tuple[RuntimeApiConnection, socket.socket, Endpoint]) -> None:
    conn, runtime, endpoint = wired
    runtime.sendall(b"GET /2018-06-01/runtime/elsewhere HTTP/1.1\r\nHost: x\r\n\r\n")
    assert conn.take_next() is False
    assert runtime.recv(1024).startswith(b"HTTP/1.1 404")
    assert endpoint.waits == 0
