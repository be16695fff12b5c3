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
refuses it (local/s3_presigned.py) instead of stored; a call to a service moto does not emulate
gets a clear error instead of moto's fallback to S3; and with `--state DIR` its state is kept
there across restarts (snapshots.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

from lightbox import config, sigv4
from lightbox.s3.presigned import PresignedChecks
from lightbox.services import moto_patches, snapshots
from lightbox.services.published import Hook, PublishFront, leave_deliveries_to_the_emulator
from lightbox.services.supervision import follow_lifeline


def not_emulated(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A call to a service moto has no backend for: refused here, in the shape of the service's protocol
    (XML for the query protocol, JSON otherwise), naming the service and what to do."""
    scope = environ.get("HTTP_AUTHORIZATION", "").split("Credential=")[-1].split(",")[0].split("/")
    service = scope[3] if len(scope) == 5 else "this service"
    message = (f"lightbox: {service} is not emulated locally (the embedded moto server has no {service}); "
               f"nothing was sent to AWS. Start lightbox with --aws-passthrough {service} to call AWS for it")
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>NotImplemented</Code><Message>{message}"
                "</Message></Error><RequestId>lightbox</RequestId></ErrorResponse>").encode()
        headers = [("Content-Type", "text/xml")]
    else:
        body = json.dumps({"__type": "NotImplemented", "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", "NotImplemented")]
    start_response("501 Not Implemented", [*headers, ("Content-Length", str(len(body)))])
    return [body]


def _create_backend_app(service: Any) -> Any:
    """moto's app for one service; S3's with the presigned checks in front of it."""
    if service is None:  # moto found no backend for the request's service
        return not_emulated
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
    parser.add_argument("--state", type=Path, help="keep the services' state in this folder across restarts")
    parser.add_argument("--hook", help="the emulator's URL for published SNS messages and put events (published.py)")
    args = parser.parse_args(argv)
    follow_lifeline()  # ends with `lightbox up`, however that ends
    Hook.url = args.hook
    if args.hook:
        leave_deliveries_to_the_emulator()
    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto.server: where moto reaches itself
    moto_patches.tolerate_missing_sns_queues()
    if args.state:
        snapshots.load(args.state)

    def stop(*_: Any) -> None:
        if args.state:
            snapshots.save(args.state)
        sys.exit(0)  # as moto.server: stop quietly

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    app: Any = CachedDispatcher()
    if config.verify_signatures():  # every service refuses requests not signed by the configured credentials
        app = sigv4.WsgiGuard(app)
    run_simple(args.host, args.port, app, threaded=True, request_handler=QuietRequestHandler)


if __name__ == "__main__":
    main()
