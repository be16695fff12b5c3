"""One connection of a runtime to its Runtime API (api.py): its requests read and answered in turn,
and lent, while the runtime waits for its next event, to the thread that gives it one."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import BinaryIO, Protocol

from lightbox.exceptions import FunctionError
from lightbox.logs import responding
from lightbox.runtime.environments import wire
from lightbox.runtime.environments.faults import from_payload
from lightbox.runtime.environments.invocation import HTTP_INTEGRATION, STREAM_DELIMITER, Pending, StreamBody

log = logging.getLogger(__name__)

BASE = "/2018-06-01/runtime"
# How long the borrower waits for a runtime's /next after its answer was acknowledged (take_next).
NEXT_WAIT_MS = 2
SLOW_AFTER_MISSES = 3  # then it is waited for once in 16
LASTING_MS = 1  # an answer slower than this has its START line written while it runs (serve_until)
_PHRASES = {status.value: status.phrase for status in HTTPStatus}
ACCEPTED = (b'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n'
            b'{"status": "OK"}')


class Endpoint(Protocol):
    """What the API asks of the environment it serves."""

    # The runtime on `connection` asks for its next event: given now (connection.deliver) if one is
    # queued, or later by the invoking thread, which then reads the answer itself (connection.lend).
    def wait_next(self, connection: RuntimeApiConnection) -> None: ...

    def pending(self, request_id: str) -> Pending | None: ...

    def init_failed(self, error: FunctionError) -> None: ...


class RuntimeApiConnection:
    """One connection of a runtime: requests read and answered one after another (keep-alive)."""

    def __init__(self, endpoint: Endpoint, conn: socket.socket, rfile: BinaryIO) -> None:
        self.endpoint, self.connection, self.rfile = endpoint, conn, rfile
        self.close_connection = False
        self.path = ""
        self.headers: dict[str, str] = {}
        self._trailers: dict[str, str] = {}  # of the last chunked request body read
        # Lent: while the runtime waits in /next, the thread that gives it an event reads its answer on
        # this connection itself (a hand-over from this thread cost a thread switch per invocation).
        self._lent = False
        self._returned = threading.Condition()
        self._carried = False  # the borrower read a streamed response's head: its body is read here
        self._ack_due = False  # the borrower read an answer: its 202 waits for the HTTP response
        self._relent = False  # lent again by the request the borrower read last (see take_next)
        self._misses = 0  # take_next calls in a row that the runtime's /next did not come within its wait

    def serve(self) -> None:
        """The connection's own thread: requests one after another, none while it is lent."""
        while True:
            if self._carried:
                self._carried = False
                self.do_post()
                keep = not self.close_connection
            else:
                keep = self.handle_one()
            if not keep:
                return
            with self._returned:
                while self._lent:
                    self._returned.wait()

    def lend(self) -> None:
        """From now on the runtime's next request is the borrower's to read (see serve_until)."""
        self._lent = True
        self._relent = True

    def take_next(self) -> bool:
        """The borrower, its invocation answered: reads the runtime's next request itself when it comes
        at once, as a runtime's /next does, which lends the connection again (True). Waking the
        connection's own thread for it cost a thread switch per invocation. False when the request did
        not come, or was another: the caller gives the connection back. A runtime slow to ask (a shell
        bootstrap's curl) is waited for only now and then, to see whether it still is."""
        self._acknowledge()
        poller = select.poll()
        poller.register(self.connection.fileno(), select.POLLIN)
        slow = self._misses >= SLOW_AFTER_MISSES and self._misses % 16
        if not poller.poll(0 if slow else NEXT_WAIT_MS):
            self._misses += 1
            return False
        self._misses = 0
        self._relent = False
        with contextlib.suppress(OSError, ValueError):  # the process ended: its thread reads the end
            return self.handle_one() and self._relent
        return False

    def give_back(self) -> None:
        self._acknowledge()
        with self._returned:
            self._lent = False
            self._returned.notify()

    def serve_until(self, pending: Pending, wakeup: int, lasting: Callable[[], None]) -> bool:
        """The borrower: read and answer the runtime's requests here until `pending` is settled, by this
        connection or another one (a stream; the process's exit), which counts up `wakeup`; until its
        deadline; or until a streamed response is to be read by the connection's own thread. True when
        the answer was read here: the connection is still lent, and the caller gives it back (give_back).
        `lasting` is called when the answer takes longer than LASTING_MS, or is left to the connection's
        thread (it writes the START line, once: a quick answer's comes with its END, after the response)."""
        with contextlib.suppress(OSError, ValueError):  # the process ended: its invocation fails with its exit
            self._read_until(pending, wakeup, lasting)
        with contextlib.suppress(BlockingIOError):
            os.eventfd_read(wakeup)  # the count of a settle made here: the next invocation's wait starts at 0
        if self._carried or not pending.done.is_set():
            lasting()
            self.give_back()  # the connection's thread reads the stream, or the end of the process
            return False
        return True

    def _read_until(self, pending: Pending, wakeup: int, lasting: Callable[[], None]) -> None:
        sock = self.connection.fileno()
        poller = select.poll()  # not select(): a busy host has fds past its 1024
        poller.register(sock, select.POLLIN)
        poller.register(wakeup, select.POLLIN)
        quick = True
        while not pending.done.is_set():
            remaining = pending.deadline - time.monotonic()
            if remaining <= 0:
                return
            ready = {fd for fd, _ in poller.poll(min(remaining * 1000, LASTING_MS) if quick else remaining * 1000)}
            if quick and not ready:
                quick = False
                lasting()
            if wakeup in ready:
                with contextlib.suppress(BlockingIOError):
                    os.eventfd_read(wakeup)
            if sock in ready and not pending.done.is_set() and (not self.handle_one() or self._carried):
                return

    def handle_one(self) -> bool:
        """Read and answer one request; False when the connection ends."""
        line = self.rfile.readline(wire.MAX_LINE)
        if not line:
            return False
        try:
            method, self.path, version = line.decode("latin-1").split()
        except ValueError:
            self._reply(400, {"errorMessage": f"bad request line {line[:100]!r}", "errorType": "InvalidRequest"})
            return False
        self.headers = wire.read_headers(self.rfile)
        self.close_connection = version != "HTTP/1.1" or self.headers.get("connection", "").lower() == "close"
        if method == "GET":
            self.do_get()
        elif method == "POST":
            self.do_post()
        else:
            self._body()
            self._reply(405, {"errorMessage": f"method {method} not allowed", "errorType": "InvalidRequest"})
        return not self.close_connection

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        head = [f"HTTP/1.1 {status} {_PHRASES.get(status, 'Unknown')}\r\n",
                *(f"{name}: {value}\r\n" for name, value in headers.items()),
                f"Content-Length: {len(body)}\r\n"]
        if self.close_connection:
            head.append("Connection: close\r\n")
        head.append("\r\n")
        self.connection.sendall("".join(head).encode("latin-1") + body)

    def _accepted(self) -> None:
        if self.close_connection:
            self._reply(202, {"status": "OK"})
        else:
            self.connection.sendall(ACCEPTED)

    def _acknowledge(self) -> None:
        """The 202 of an answer the borrower read, if still due (see do_post)."""
        if self._ack_due:
            self._ack_due = False
            with contextlib.suppress(OSError):  # (the runtime gone meanwhile: its answer still counts)
                self._accepted()

    def _reply(self, status: int, body: dict[str, object]) -> None:
        self._send(status, {"Content-Type": "application/json"}, json.dumps(body).encode())

    def do_get(self) -> None:
        if self.path != f"{BASE}/invocation/next":
            self._reply(404, {"errorMessage": f"unknown path {self.path}", "errorType": "InvalidRequest"})
            return
        self.endpoint.wait_next(self)

    def deliver(self, pending: Pending | None) -> None:
        """Write the runtime's event (None: the environment is ending), from whichever thread has it."""
        try:
            if pending is None:
                self.close_connection = True
                self._reply(410, {"errorMessage": "environment ending", "errorType": "Runtime.Ending"})
                return
            deadline_ms = pending.deliver()
            headers = {"Content-Type": "application/json", "Lambda-Runtime-Aws-Request-Id": pending.request_id,
                       "Lambda-Runtime-Deadline-Ms": str(deadline_ms), **pending.headers}
            self._send(200, headers, pending.payload)
        except OSError:
            pass  # the process ended: its invocation fails with its exit
        finally:
            if pending is None:
                self.give_back()  # (if lent) the connection's own thread reads the end of it

    def do_post(self) -> None:
        path = self.path.removeprefix(BASE)
        if path == "/init/error":
            error = from_payload(wire.parse_json(self._body()), self.headers.get("lambda-runtime-function-error-type"))
            self.endpoint.init_failed(error)
            self._accepted()
            return
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
            self._body()
            self._reply(404, {"errorMessage": f"unknown path {self.path}", "errorType": "InvalidRequest"})
            return
        pending = self.endpoint.pending(parts[1])
        if pending is None:
            self._body()
            self._reply(400, {"errorMessage": f"Invalid request ID: {parts[1]}", "errorType": "InvalidRequestID"})
            return
        if parts[2] == "error":
            error = from_payload(wire.parse_json(self._body()), self.headers.get("lambda-runtime-function-error-type"))
            if not pending.settle(error=error) and pending.stream is not None:
                pending.stream.fail(error)  # a runtime that reports a failure of its stream apart (Python's)
        elif self.headers.get("lambda-runtime-function-response-mode", "").lower() == "streaming":
            if self._lent:  # read by the borrower: the connection's own thread reads the stream
                self._carried = True
                return
            if not self._stream(pending):
                return  # the gateway hung up (its client left): nobody to answer
        else:
            response = self._body()
            if self._lent and responding():  # read by the borrower: acknowledged once its client has
                self._ack_due = True  # the HTTP response (take_next)
            else:  # acknowledged first: the invoking thread, woken by the settle, need not wait for this
                self._accepted()
            pending.settle(response=response)
            return
        self._accepted()

    def _stream(self, pending: Pending) -> bool:
        """The stream starts (and settles the invocation) with its prelude when it has one, else
        with its first bytes; then every chunk goes to the gateway as it comes. An error the
        runtime reports in the trailers fails the invocation if nothing was streamed yet, else ends
        the stream with it. False when the stream was cut."""
        content_type = self.headers.get("content-type") or "application/octet-stream"
        body = StreamBody(content_type)
        body.hang_up = self._hang_up
        with_prelude = content_type.split(";")[0].strip().lower() == HTTP_INTEGRATION
        buffered, started = b"", False
        try:
            for chunk in self._chunks():
                if started:
                    body.put(chunk)
                    continue
                buffered += chunk
                if with_prelude:
                    if STREAM_DELIMITER not in buffered:
                        continue
                    body.prelude, _, buffered = buffered.partition(STREAM_DELIMITER)
                elif not buffered:
                    continue
                started = True
                if not pending.settle(prelude=body.prelude, stream=body):
                    return True  # timed out meanwhile
                if buffered:
                    body.put(buffered)
            error = wire.trailer_error(self._trailers)
            if started:
                if error is not None:
                    body.fail(error)
            elif error is not None:
                pending.settle(error=error)
            elif with_prelude:  # no prelude after all: the whole body is the response
                pending.settle(response=buffered)
            else:  # an empty stream
                pending.settle(stream=body)
            return not body.closed.is_set()
        except OSError:
            self.close_connection = True
            body.fail(FunctionError("the runtime hung up mid-response", "Runtime.ExitError"))
            return False
        finally:
            body.end()

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _chunks(self) -> Iterator[bytes]:
        self._trailers = {}
        return wire.chunks(self.rfile, self.headers, self._trailers)

    def _body(self) -> bytes:
        return b"".join(self._chunks())

