"""A small Runtime API server for testing runtimes' bootstraps on their own: it hands out the events it
is given (`invocation/next`, with Lambda's `Lambda-Runtime-*` headers) and keeps what the runtime posts
back (`/response`, `/error`, `/init/error`), as Lambda's side of the contract does."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"


@dataclass
class Posted:
    kind: str  # response | error | init-error
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class RuntimeApiPeer:
    """`invoke(event)` queues an event and waits for what the runtime posts for it."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.posted: dict[str, Posted] = {}
        self.init_error: Posted | None = None
        self._cond = threading.Condition()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the runtime's client expects

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    return self._answer(404, {"errorType": "InvalidRequest"})
                request_id, event = peer.events.get()
                if not request_id:  # closing: let the runtime's long poll end
                    self.close_connection = True
                    return self._answer(500, {"errorType": "ServiceException"})
                body = json.dumps(event).encode()
                self.send_response(200)
                for name, value in {
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 60_000),
                    "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
                    "Lambda-Runtime-Trace-Id": f"Root=1-00000000-{request_id[:24]}",
                    "Content-Type": "application/json",
                    "Content-Length": str(len(body)),
                }.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = self.path.removeprefix(PREFIX).strip("/").split("/")
                posted = Posted("", json.loads(raw) if raw else None, dict(self.headers.items()))
                if parts == ["init", "error"]:
                    posted.kind = "init-error"
                    with peer._cond:
                        peer.init_error = posted
                        peer._cond.notify_all()
                elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    posted.kind = parts[2]
                    with peer._cond:
                        peer.posted[parts[1]] = posted
                        peer._cond.notify_all()
                else:
                    return self._answer(404, {"errorType": "InvalidRequest"})
                self._answer(202, {"status": "OK"})

            def _answer(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        """What AWS_LAMBDA_RUNTIME_API holds: host:port."""
        return f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, event: Any, timeout: float = 20) -> Posted:
        request_id = str(uuid.uuid4())
        self.events.put((request_id, event))
        with self._cond:
            if not self._cond.wait_for(lambda: request_id in self.posted or self.init_error is not None, timeout):
                raise TimeoutError(f"the runtime posted nothing for {request_id}")
            return self.posted.get(request_id) or Posted("none", None)

    def wait_init_error(self, timeout: float = 20) -> Posted:
        with self._cond:
            if not self._cond.wait_for(lambda: self.init_error is not None, timeout):
                raise TimeoutError("the runtime posted no init error")
            assert self.init_error is not None
            return self.init_error

    def close(self) -> None:
        self.events.put(("", None))
        self.server.shutdown()
        self.server.server_close()
