"""The embedded S3 (+SQS) server: moto's own server app, with two per-request costs taken out
and S3's presigned checks put in.

    python -m lightbox.services.cloud -H 127.0.0.1 -p PORT

`python -m moto.server` looks up the backend of every request from scratch: it lists moto's
package folder and stats each of its ~200 entries (`list_of_moto_modules`) before matching the
URL patterns, all under one lock, and writes a log line per request. That was about half of the
server's CPU per S3 call here (docs/benchmarks.md). The lookup depends only on the host it is
given, so it is cached; request logging is off (errors are still logged). Everything else is
moto's: the same app, backends and request handler, so the state and answers are the same,
except that an expired presigned URL, or a POST form its policy forbids, is refused as S3
refuses it (local/s3_presigned.py) instead of stored.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

from lightbox.s3.presigned import PresignedChecks
from lightbox.services.published import Hook, PublishFront, leave_deliveries_to_the_emulator


def _create_backend_app(service: Any) -> Any:
    """moto's app for one service; S3's with the presigned checks in front of it."""
    app = create_backend_app(service)
    if service == "s3":
        app.wsgi_app = PresignedChecks(app.wsgi_app)  # type: ignore[method-assign]  # Flask's middleware hook
    elif service in ("sns", "events"):  # published messages and put events go on to the emulator too
        app.wsgi_app = PublishFront(app.wsgi_app, service)  # type: ignore[method-assign]
    return app


class CachedDispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves each host it has seen."""

    def __init__(self) -> None:
        super().__init__(_create_backend_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        # Called under the dispatcher's lock, so the dict needs none of its own.
        if host not in self._backends:
            self._backends[host] = super().get_backend_for_host(host)
        return self._backends[host]


class QuietRequestHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One line per request costs the server more than some requests do; errors still log."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--hook", help="the emulator's URL for published SNS messages and put events (published.py)")
    args = parser.parse_args(argv)
    Hook.url = args.hook
    if args.hook:
        leave_deliveries_to_the_emulator()
    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto.server: where moto reaches itself
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: sys.exit(0))  # as moto.server: stop quietly
    run_simple(args.host, args.port, CachedDispatcher(), threaded=True, request_handler=QuietRequestHandler)


if __name__ == "__main__":
    main()
