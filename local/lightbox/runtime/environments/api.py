"""Lambda's Runtime API, served to one execution environment on a loopback port of its own.

GET  /2018-06-01/runtime/invocation/next            the next event, with the Lambda-Runtime-* headers
POST /2018-06-01/runtime/invocation/{id}/response   the result, or a streamed response: chunked, header
     Lambda-Runtime-Function-Response-Mode: streaming, an error in the trailers Lambda-Runtime-Function-
     Error-Type / -Error-Body (base64 JSON); Content-Type HTTP_INTEGRATION: a prelude comes first
POST /2018-06-01/runtime/invocation/{id}/error      an error payload {errorMessage, errorType, stackTrace}
POST /2018-06-01/runtime/init/error                 the handler could not be loaded
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading

from lightbox.runtime.environments.connection import Endpoint, RuntimeApiConnection

log = logging.getLogger(__name__)


class RuntimeApiServer:
    """A loopback listener and a thread per connection (a runtime keeps one open; Node.js opens
    another for a streamed response). HTTP/1.1 is read and written here directly: http.server's
    header parsing and reply building were most of what an invocation spent in the emulator."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._accept, name="lambda-runtime-api", daemon=True)

    @property
    def address(self) -> str:
        """AWS_LAMBDA_RUNTIME_API: host:port, no scheme."""
        return f"127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (Linux)
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # stopped
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a reply can be two writes
            threading.Thread(target=self._serve, args=(conn,), name="lambda-runtime-api-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn, conn.makefile("rb") as rfile:
                RuntimeApiConnection(self.endpoint, conn, rfile).serve()
        except OSError:
            pass  # the environment's process ended mid-request (killed, exited): its invocation says so
        except Exception as exc:  # noqa: BLE001 - a malformed request ends its connection, not the host
            log.error("Runtime API of %s: %r", self.endpoint, exc)
