"""The gateway's HTTP server (apigateway/http_server.py) on the wire: kept-alive HTTP/1.1 connections,
chunked framing of bodies without a length, what is done with a request body the app leaves unread,
and when the server closes. Raw sockets, so every byte the server sends is seen, in order."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from lightbox.apigateway.http_server import DRAIN_LIMIT, KeepAliveHandler, make_gateway_server

TIMEOUT = 10.0  # a server that neither answers nor closes fails the test instead of hanging it
NO_BODY = ("1", "204", "304")

flask_app = Flask(__name__)


@flask_app.route("/page", methods=["GET", "HEAD"])
def page() -> str:
    return "a page body"


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Plain WSGI routes, each doing one thing a server must cope with."""
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    if path == "/page":
        return flask_app(environ, start_response)
    if path == "/echo":  # reads the whole body
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/stream":  # no Content-Length: the server must frame it
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"one", b"two", b"three"])
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    if path == "/careless":  # a plain WSGI app writing a body whatever the method or status says
        start_response(environ["QUERY_STRING"].replace("+", " ") or "200 OK", [("Content-Type", "text/plain")])
        return [b"careless body"]
    if path == "/close":
        start_response("200 OK", [("Content-Length", "3"), ("Connection", "close")])
        return [b"bye"]
    if path == "/headers":  # the request's headers as the WSGI environ has them
        seen = "\n".join(f"{k}={v}" for k, v in sorted(environ.items()) if k.startswith("HTTP_")).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(seen)))])
        return [seen]
    if path == "/boom":
        raise RuntimeError("before start_response")
    if path == "/boom-late":
        return _late_failure(start_response)
    # Everything else answers without reading the request body: "/ignore" and plain GETs.
    body = f"{method} {path} {environ['QUERY_STRING']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _late_failure(start_response: Any) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first"
    raise RuntimeError("after the head was sent")


@pytest.fixture
def port() -> Iterator[int]:
    server = make_gateway_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)  # short poll: quick shutdown
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()
    thread.join(TIMEOUT)


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes
    chunks: list[bytes] | None  # the chunks as framed, when chunked


class Wire:
    """One client connection read byte-exactly, so nothing the server sends is buffered out of sight."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError(f"connection closed; unparsed: {self.buf!r}")
        self.buf += data

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def rest(self) -> bytes:
        """Everything until the server closes (b"" when it closed right after what was read)."""
        while data := self.sock.recv(65536):
            self.buf += data
        data, self.buf = self.buf, b""
        return data

    def head(self) -> tuple[str, dict[str, str]]:
        """A response's status code and headers (names lower-cased)."""
        line = self.line()
        assert line.startswith(b"HTTP/1.1 "), f"not a status line: {line!r}"
        status = line.decode("latin-1").split(" ", 2)[1]
        headers: dict[str, str] = {}
        while line := self.line():
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    def response(self, method: str = "GET") -> Response:
        """One response, framed as RFC 9112 section 6.3 says: no body, chunked, Content-Length, or to EOF."""
        status, headers = self.head()
        chunks: list[bytes] | None = None
        if method == "HEAD" or status.startswith(NO_BODY):
            body = b""
        elif headers.get("transfer-encoding") == "chunked":
            chunks = []
            while size := int(self.line(), 16):
                chunks.append(self.exact(size))
                assert self.line() == b""
            assert self.line() == b""  # no trailers
            body = b"".join(chunks)
        elif "content-length" in headers:
            body = self.exact(int(headers["content-length"]))
        else:
            body = self.rest()
        return Response(int(status), headers, body, chunks)


def request(method: str, path: str, *headers: str, body: bytes = b"", version: str = "HTTP/1.1") -> bytes:
    head = [f"{method} {path} {version}", "Host: 127.0.0.1", *headers]
    if body:
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def then_after(port: int, first: bytes, method: str = "GET") -> tuple[Response, Response]:
    """`first`'s answer, and that of a GET /after sent next on the same connection."""
    with Wire(port) as wire:
        wire.send(first)
        answer = wire.response(method)
        wire.send(request("GET", "/after"))
        return answer, wire.response()


def assert_kept_alive(response: Response) -> None:
    assert "close" not in response.headers.get("connection", "").lower()


def test_two_gets_on_one_connection(port: int) -> None:
    with Wire(port) as wire:
        wire.send(request("GET", "/a"))
        first = wire.response()
        wire.send(request("GET", "/b"))
        second = wire.response()
    assert (first.status, first.body) == (200, b"GET /a ")
    assert (second.status, second.body) == (200, b"GET /b ")
    for response in (first, second):
        assert response.headers["content-length"] == str(len(response.body))
        assert "transfer-encoding" not in response.headers
        assert_kept_alive(response)


def test_pipelined_requests_answered_in_order(port: int) -> None:
    # Both requests in one write: the second must wait in the buffer, not be lost with the first's read.
    with Wire(port) as wire:
        wire.send(request("GET", "/one") + request("GET", "/two"))
        assert wire.response().body == b"GET /one "
        assert wire.response().body == b"GET /two "


def test_http_client_reuses_its_connection(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    bodies, local_addresses = [], set()
    try:
        for n in range(3):
            conn.request("GET", f"/n?{n}")
            bodies.append(conn.getresponse().read())
            # http.client reconnects silently when the server closed: one local address is one connection.
            local_addresses.add(conn.sock.getsockname())
    finally:
        conn.close()
    assert bodies == [b"GET /n 0", b"GET /n 1", b"GET /n 2"]
    assert len(local_addresses) == 1


def test_unread_small_body_is_drained_before_the_next_request(port: int) -> None:
    # The body looks like a request line: were it parsed as the next request, the answer would be to it.
    body = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n" + b"x" * 10_000
    posted, after = then_after(port, request("POST", "/ignore", body=body))
    assert (posted.status, posted.body) == (200, b"POST /ignore ")
    assert_kept_alive(posted)
    assert (after.status, after.body) == (200, b"GET /after ")


def test_unread_body_of_exactly_the_drain_limit_keeps_the_connection(port: int) -> None:
    with Wire(port) as wire:
        wire.send(request("POST", "/ignore", body=b"x" * DRAIN_LIMIT))
        assert wire.response().body == b"POST /ignore "
        wire.send(request("GET", "/after"))
        assert wire.response().body == b"GET /after "


def test_unread_body_just_over_the_drain_limit_closes(port: int) -> None:
    # All of it is read (to count it), so the server's close is a clean FIN.
    with Wire(port) as wire:
        wire.send(request("POST", "/ignore", body=b"x" * (DRAIN_LIMIT + 1)))
        response = wire.response()
        assert (response.status, response.body) == (200, b"POST /ignore ")
        assert wire.rest() == b""


def test_unread_large_body_gets_its_answer_then_a_close(port: int) -> None:
    body = b"x" * (4 * DRAIN_LIMIT)
    with Wire(port) as wire:
        wire.send(request("POST", "/ignore", f"Content-Length: {len(body)}"))

        def upload() -> None:
            with contextlib.suppress(OSError):  # the server stops reading and closes: the rest is refused
                wire.send(body)

        sender = threading.Thread(target=upload, daemon=True)
        sender.start()
        response = wire.response()
        assert (response.status, response.body) == (200, b"POST /ignore ")
        try:
            rest = wire.rest()
        except ConnectionResetError:  # closing with unread bytes queued sends an RST rather than a FIN
            rest = b""
        sender.join(TIMEOUT)
    assert rest == b""
    assert not sender.is_alive()  # the upload was cut short, not read to its end


def test_streamed_response_is_chunked_and_keeps_the_connection(port: int) -> None:
    streamed, after = then_after(port, request("GET", "/stream"))
    assert streamed.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in streamed.headers
    assert streamed.chunks == [b"one", b"two", b"three"]  # each write its own chunk: a stream is not held back
    assert streamed.body == b"onetwothree"
    assert_kept_alive(streamed)
    assert after.body == b"GET /after "


@pytest.mark.parametrize("extra", [(), ("Connection: keep-alive",)])
def test_http_10_request_is_answered_then_closed(port: int, extra: tuple[str, ...]) -> None:
    # Even a 1.0 client asking for keep-alive is closed: the server only keeps HTTP/1.1 connections.
    with Wire(port) as wire:
        wire.send(request("GET", "/old", *extra, version="HTTP/1.0"))
        response = wire.response()
        assert response.headers["connection"] == "close"
        assert response.body == b"GET /old "
        assert wire.rest() == b""


def test_http_10_stream_is_not_chunked_but_ended_by_the_close(port: int) -> None:
    # A 1.0 client cannot read chunked framing; the close marks the end of the body instead.
    with Wire(port) as wire:
        wire.send(request("GET", "/stream", version="HTTP/1.0"))
        response = wire.response()
    assert "transfer-encoding" not in response.headers
    assert response.headers["connection"] == "close"
    assert response.body == b"onetwothree"


@pytest.mark.parametrize(("sent", "body"), [
    (request("GET", "/last", "Connection: close"), b"GET /last "),  # the client asks for it
    (request("GET", "/close"), b"bye"),  # the app's answer says so
])
def test_connection_close_either_way_is_closed_after_the_answer(port: int, sent: bytes, body: bytes) -> None:
    with Wire(port) as wire:
        wire.send(sent)
        response = wire.response()
        assert response.body == body
        assert response.headers["connection"] == "close"
        assert wire.rest() == b""


def test_app_raising_before_its_head_answers_500_and_keeps_the_connection(port: int) -> None:
    # Nothing was sent yet, so a whole 500 (with a length) goes out and the connection stays usable.
    failed, after = then_after(port, request("GET", "/boom"))
    assert failed.status == 500
    assert failed.headers["content-length"] == str(len(failed.body))
    assert b"Internal Server Error" in failed.body
    assert_kept_alive(failed)
    assert after.body == b"GET /after "


def test_app_raising_mid_stream_cuts_the_connection(port: int) -> None:
    # The head is out, so no 500 can follow: the connection ends without the last chunk, which a client
    # sees as a truncated body rather than a complete one.
    with Wire(port) as wire:
        wire.send(request("GET", "/boom-late"))
        status, headers = wire.head()
        assert (status, headers["transfer-encoding"]) == ("200", "chunked")
        assert wire.rest() == b"5\r\nfirst\r\n"  # no "0\r\n\r\n" after it


def test_chunked_request_body_is_read_whole_and_keeps_the_connection(port: int) -> None:
    chunked = b"5\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n"
    echoed, after = then_after(port, request("POST", "/echo", "Transfer-Encoding: chunked") + chunked)
    assert echoed.body == b"hello world!"
    assert_kept_alive(echoed)
    assert after.body == b"GET /after "


def test_unread_chunked_request_body_is_drained(port: int) -> None:
    chunked = b"a\r\n0123456789\r\n0\r\n\r\n"
    with Wire(port) as wire:
        wire.send(request("POST", "/ignore", "Transfer-Encoding: chunked") + chunked)
        assert wire.response().body == b"POST /ignore "
        wire.send(request("GET", "/after"))
        assert wire.response().body == b"GET /after "


def test_head_sends_no_body_and_keeps_the_connection(port: int) -> None:
    with Wire(port) as wire:
        wire.send(request("HEAD", "/page"))
        head = wire.response("HEAD")
        wire.send(request("GET", "/page"))
        page = wire.response()
    assert head.status == 200
    assert head.headers["content-length"] == str(len(b"a page body"))  # the length a GET would have
    assert "transfer-encoding" not in head.headers
    assert_kept_alive(head)
    # Had body bytes followed the HEAD's head, they would have been read as this response's status line.
    assert (page.status, page.body) == (200, b"a page body")


@pytest.mark.parametrize(("method", "status"), [("HEAD", "200+OK"), ("GET", "204+No+Content"),
                                                ("GET", "304+Not+Modified")])
def test_body_bytes_of_a_no_body_response_stay_off_the_wire(port: int, method: str, status: str) -> None:
    # RFC 9110 forbids content after HEAD, 204 and 304; werkzeug's Response leaves it out, but a plain
    # WSGI app may still yield some. On a kept-alive connection bytes written anyway would be read as the
    # start of the next response, so they must be dropped (as gunicorn does).
    first, after = then_after(port, request(method, f"/careless?{status}"), method)
    assert first.status == int(status.split("+")[0])
    assert "transfer-encoding" not in first.headers
    assert (after.status, after.body) == (200, b"GET /after ")


def test_204_without_length_is_not_chunked(port: int) -> None:
    empty, after = then_after(port, request("GET", "/empty"))
    assert empty.status == 204
    assert "transfer-encoding" not in empty.headers
    assert "content-length" not in empty.headers
    assert_kept_alive(empty)
    assert after.body == b"GET /after "  # a "0\r\n\r\n" after the 204 would have broken this parse


def test_expect_100_continue_is_answered_before_the_body(port: int) -> None:
    # http.server's parse_request answers the Expect once; the final answer follows the body.
    body = b"uploaded"
    with Wire(port) as wire:
        wire.send(request("POST", "/echo", "Expect: 100-continue", f"Content-Length: {len(body)}"))
        interim = wire.response()  # a 1xx has no body; the body is sent only once one came
        wire.send(body)
        final = wire.response()
        wire.send(request("GET", "/after"))
        after = wire.response()
    assert interim.status == 100
    assert (final.status, final.body) == (200, body)
    assert after.body == b"GET /after "


def test_idle_connection_is_closed(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(KeepAliveHandler, "timeout", 0.3)  # the 60 s of IDLE_SECONDS, shortened
    with Wire(port) as wire:
        wire.send(request("GET", "/a"))
        assert wire.response().body == b"GET /a "
        assert wire.rest() == b""  # the server ended the connection on its own, with nothing more sent


def test_request_headers_reach_the_app_as_sent(port: int) -> None:
    # The head is parsed by the handler itself (not http.server's email parser): repeated headers are
    # joined, a folded continuation line belongs to the header above, values keep inner spaces.
    with Wire(port) as wire:
        wire.send(request("GET", "/headers", "X-One: a  b", "X-Many: 1", "X-Many: 2", "X-Folded: first",
                          "\tsecond", "X-Empty:", "Under_Score: dropped"))
        got = wire.response()
        wire.send(request("GET", "/after"))
        after = wire.response()
    lines = got.body.decode().splitlines()
    assert "HTTP_X_ONE=a  b" in lines
    assert "HTTP_X_MANY=1,2" in lines
    assert "HTTP_X_FOLDED=first second" in lines
    assert "HTTP_X_EMPTY=" in lines
    assert not any(line.startswith("HTTP_UNDER") for line in lines)  # werkzeug drops names with "_"
    assert after.body == b"GET /after "


@pytest.mark.parametrize(("line", "status"), [
    ("GET /a HTTP/x.y", 400),  # not a version
    ("GET /a HTTP/2.0", 505),
    ("GET /a", 400),  # HTTP/0.9 is not served
    ("GET /a b HTTP/1.1", 400),
])
def test_a_bad_request_line_is_refused(port: int, line: str, status: int) -> None:
    with Wire(port) as wire:
        wire.send(f"{line}\r\nHost: x\r\n\r\n".encode())
        code, _ = wire.head()
        assert int(code) == status


def test_too_many_or_too_long_headers_are_refused(port: int) -> None:
    many = [f"X-H{i}: v" for i in range(101)]
    with Wire(port) as wire:
        wire.send(request("GET", "/a", *many))
        assert wire.head()[0] == "431"
    with Wire(port) as wire:
        wire.send(request("GET", "/a", "X-Long: " + "v" * 70000))
        assert wire.head()[0] == "431"
