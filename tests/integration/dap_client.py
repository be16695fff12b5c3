"""The least of a debugger's client (VS Code's side of the Debug Adapter Protocol): connect to debugpy,
attach, finish configuration; the debuggee then runs on."""

from __future__ import annotations

import json
import socket
import time
from typing import Any


def _send(sock: socket.socket, seq: int, command: str, arguments: dict[str, Any] | None = None) -> None:
    body = json.dumps({"seq": seq, "type": "request", "command": command, "arguments": arguments or {}}).encode()
    sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)


def _read(stream: Any) -> dict[str, Any] | None:
    length = 0
    while True:
        line = stream.readline()
        if not line:
            return None
        if line == b"\r\n":
            break
        key, _, value = line.decode().partition(":")
        if key.lower() == "content-length":
            length = int(value)
    message: dict[str, Any] = json.loads(stream.read(length))
    return message


def listening(port: int) -> bool:
    """Whether a socket listens on `port` (read from /proc/net/tcp: a probing connection would count as
    a debugger's session to debugpy)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in rows.readlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    return True
    return False


def wait_listening(port: int, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not listening(port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on port {port}")
        time.sleep(0.05)


def attach(host: str, port: int) -> socket.socket:
    """Attach as VS Code's "attach" configuration does; returns the open session (close it to detach)."""
    sock = socket.create_connection((host, port), timeout=60)
    stream = sock.makefile("rb")
    _send(sock, 1, "initialize", {"adapterID": "lightbox-test", "clientID": "lightbox-test"})
    _send(sock, 2, "attach", {"justMyCode": True})
    while (message := _read(stream)) is not None:
        if message.get("event") == "initialized":
            _send(sock, 3, "configurationDone")
        if message.get("type") == "response" and message.get("command") == "attach":
            assert message["success"], message
            return sock
    raise ConnectionError("the debugger closed the session before the attach was answered")
