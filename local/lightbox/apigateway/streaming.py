"""Streamed HTTP responses (server-sent events), counted while they are open."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import Gauge

# livesum: a gunicorn worker that died takes its open streams with it.
STREAMS_OPEN = Gauge("lightbox_http_streams_open", "Streamed HTTP responses in flight (SSE clients)",
                     ["function"], multiprocess_mode="livesum")



class CountedStream:
    """An iterator body that is counted in STREAMS_OPEN from first byte until the server closes it."""

    def __init__(self, body: Iterable[bytes], function: str) -> None:
        self._body = body
        self._gauge = STREAMS_OPEN.labels(function)
        self._gauge.inc()
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self._body

    def close(self) -> None:
        # WSGI servers call close() when the client goes away or the body ends; call it once.
        if not self._closed:
            self._closed = True
            self._gauge.dec()
            close = getattr(self._body, "close", None)
            if callable(close):
                close()
