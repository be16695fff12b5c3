"""The gateway's HTTP server: werkzeug's threaded server (a thread per connection, so a server-sent
event stream or a long poll holds no shared worker) with HTTP/1.1 keep-alive, which werkzeug's own
handler turns off by closing every connection. A client keeps its connection between requests, as
API Gateway lets it: a loopback connect and a thread per request were a fifth of a warm invoke.

What the application leaves of a request body is read before the next request on the connection;
a large rest (an upload refused unread) closes the connection instead.
"""

from __future__ import annotations

import email.utils
import http.client
import io
import logging
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import IO, TYPE_CHECKING, Any, cast

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream, get_content_length

from lightbox import logs

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

MAX_LINE, MAX_HEADERS = 65536, 100  # http.server's limits of a request line and of its header count
IDLE_SECONDS = 60.0  # a kept-alive connection with no request this long ends, and its thread
DRAIN_LIMIT = 1 << 20  # unread request body read past before the next request; more closes instead
DROPPED = (ConnectionError, TimeoutError)
NO_BODY_STATUS = ("1", "204", "304")

_access = logging.getLogger("werkzeug")


class KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS
    disable_nagle_algorithm = True  # head and body can go out in separate writes (a stream)

    def parse_request(self) -> bool:
        """http.server's, with the header block read here: its email.parser took a tenth of a warm invoke."""
        # Until the line is read, an error is answered with a status line (HTTP/0.9 would get none).
        self.command, self.request_version = None, "HTTP/1.0"  # type: ignore[assignment]
        self.close_connection = True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if len(words) != 3:  # HTTP/0.9 (two words) is not served
            if words:
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({self.requestline!r})")
            return False
        command, path, version = words
        major, _, minor = version.removeprefix("HTTP/").partition(".")
        if not version.startswith("HTTP/") or not (major.isdigit() and minor.isdigit()) \
                or len(major) > 10 or len(minor) > 10:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({version!r})")
            return False
        if int(major) >= 2:
            self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({major}.{minor})")
            return False
        self.command, self.request_version = command, version
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        headers = self.headers = http.client.HTTPMessage()
        last: list[str] = []
        for _ in range(MAX_HEADERS + 1):
            line = self.rfile.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            text = line.decode("iso-8859-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and last:  # an obsolete folded continuation of the last header
                last[1] += " " + text.strip(" \t")
                continue
            if last:
                headers.set_raw(*last)
            name, colon, value = text.partition(":")
            last = [name, value.lstrip(" \t")] if colon else []
        else:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
            return False
        if last:
            headers.set_raw(*last)
        connection = headers.get("Connection", "").lower()
        self.close_connection = connection == "close" or (version < "HTTP/1.1" and connection != "keep-alive")
        if headers.get("Expect", "").lower() == "100-continue" and version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def run_wsgi(self) -> None:
        # (http.server's parse_request has answered an `Expect: 100-continue` already.)
        environ = self.environ = self.make_environ()
        body = environ["wsgi.input"]
        if not environ.get("wsgi.input_terminated"):  # chunked input is dechunked (terminated) already
            # Content-Length bounds the body; without one a request has none (a raw read would block).
            body = environ["wsgi.input"] = LimitedStream(cast(IO[bytes], self.rfile), get_content_length(environ) or 0)
        with logs.deferring() as run_later:
            self._answer(environ, _Response(self, environ, run_later))
        if not self.close_connection and not _drained(body):
            self.close_connection = True

    def _answer(self, environ: dict[str, Any], out: _Response) -> None:
        try:
            iterable = self.server.app(environ, out.start_response)
            try:
                for data in iterable:
                    out.write(data)
                out.finish()
            finally:
                if hasattr(iterable, "close"):
                    iterable.close()
        except DROPPED:
            self.close_connection = True
            return
        except Exception as exc:  # noqa: BLE001 - a server must answer; werkzeug's does the same
            self.server.log("error", f"Error on request {self.command} {self.path}: {exc!r}")
            if out.head_sent:
                self.close_connection = True  # mid-response: the client sees it cut short
                return
            out.reset()
            try:
                for data in InternalServerError()(environ, out.start_response):
                    out.write(data)
                out.finish()
            except DROPPED:
                self.close_connection = True

    def log_error(self, format: str, *args: Any) -> None:
        if not format.startswith("Request timed out"):  # an idle kept-alive connection ending
            super().log_error(format, *args)


class _Response:
    """The WSGI response of one request: its head with the first bytes, chunked when it has no length."""

    def __init__(self, handler: KeepAliveHandler, environ: dict[str, Any], sent: Callable[[], None]) -> None:
        self.handler, self.environ = handler, environ
        self.sent = sent  # called after each write: the log lines that waited for the response
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.head_sent = False
        self.chunked = False
        self.size = 0
        self.bodiless = False  # HEAD, 1xx, 204, 304: whatever the application yields is dropped

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info and self.head_sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status, self.headers = status, headers
        return self.write

    def reset(self) -> None:
        self.status, self.headers = "", []

    def write(self, data: bytes) -> None:
        parts = [] if self.head_sent else [self._head()]
        if data and not self.bodiless:  # bytes there would be read as the start of the next response
            self.size += len(data)
            parts.append(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data)
        if parts:
            self.handler.wfile.write(b"".join(parts))
            self.sent()

    def finish(self) -> None:
        if not self.head_sent:
            self.write(b"")
        if self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")
        if _access.isEnabledFor(logging.INFO):
            self.handler.log_request(self.status.split(" ", 1)[0], self.size)

    def _head(self) -> bytes:
        handler, status = self.handler, self.status
        names = {name.lower(): value for name, value in self.headers}
        if handler.request_version != "HTTP/1.1" or names.get("connection", "").lower() == "close":
            handler.close_connection = True
        lines = [f"HTTP/1.1 {status}\r\n", *(f"{name}: {value}\r\n" for name, value in self.headers)]
        if "date" not in names:
            lines.append(f"Date: {_http_date()}\r\n")
        self.bodiless = self.environ["REQUEST_METHOD"] == "HEAD" or status.startswith(NO_BODY_STATUS)
        # No length: chunked, unless the connection ends after this response (that ends the body).
        if "content-length" not in names and not self.bodiless and not handler.close_connection:
            self.chunked = True
            lines.append("Transfer-Encoding: chunked\r\n")
        if handler.close_connection and "connection" not in names:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        self.head_sent = True
        return "".join(lines).encode("latin-1")


_date_cache: tuple[int, str] = (0, "")  # the second it is, and its Date header value


def _http_date() -> str:
    """The Date header's value, formatted once a second (email.utils.formatdate per response was a
    fiftieth of a warm invoke)."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, email.utils.formatdate(now, usegmt=True))
    return _date_cache[1]


def _drained(body: io.RawIOBase) -> bool:
    """Read what the application left of the request body; False when it was too much, or cut."""
    left = 0
    try:
        while chunk := body.read(65536):
            left += len(chunk)
            if left > DRAIN_LIMIT:
                return False
    except Exception:  # noqa: BLE001 - the client hung up mid-body: the connection ends either way
        return False
    return True


def make_gateway_server(host: str, port: int, app: WSGIApplication) -> BaseWSGIServer:
    """A threaded keep-alive server of `app` (not started)."""
    return make_server(host, port, app, threaded=True, request_handler=KeepAliveHandler)
