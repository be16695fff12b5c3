"""A TCP forwarder that can fail like a server: refuse and cut connections, or answer slowly."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from lightbox.services.processes import free_port


class TcpProxy:
    """Forwards 127.0.0.1:port to a target port. down() refuses new connections and cuts open
    ones, as a server that died would; up() listens again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.latency = 0.0  # seconds before each answer starts: a slow S3, to catch stages mid-call
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by down()
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            asked = threading.Event()  # a request went up and its answer has not started yet
            for a, b, is_answer in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(target=self._pump, args=(a, b, is_answer, asked), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, is_answer: bool, asked: threading.Event) -> None:
        try:
            while data := src.recv(65536):
                if not is_answer:
                    asked.set()
                elif asked.is_set():
                    asked.clear()
                    time.sleep(self.latency)
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            _close(sock)
            with self._lock:
                self._open.discard(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
