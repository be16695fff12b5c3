"""MinIO's webhook notification target: `POST /_lightbox/s3-events` with a bearer token."""

from __future__ import annotations

import hmac
import json
import logging

from flask import Blueprint, Response, request

from lightbox.s3 import notifications as s3_events
from lightbox.sqs.queues import Broker

log = logging.getLogger(__name__)


def blueprint(broker: Broker, token: str | None) -> Blueprint:
    bp = Blueprint("minio", __name__)

    def reply(status: int, body: dict[str, object]) -> Response:
        return Response(json.dumps(body), status=status, mimetype="application/json")

    @bp.post("/_lightbox/s3-events")
    def receive() -> Response:
        if not token:
            return reply(503, {"error": "webhook disabled: set LIGHTBOX_WEBHOOK_TOKEN and MinIO's auth_token"})
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return reply(401, {"error": "missing or wrong bearer token"})
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("Records"), list):
            return reply(400, {"error": "expected a MinIO event body with a Records list"})
        # MinIO retries (and, with queue_dir, keeps) events until it gets a 2xx, so a
        # failure to queue must not be answered with success.
        delivered = s3_events.deliver(broker, body["Records"])
        return reply(200, {"delivered": delivered})

    # MinIO probes the target with HEAD/GET when the notification is configured.
    @bp.route("/_lightbox/s3-events", methods=["HEAD", "GET"])
    def probe() -> Response:
        return reply(200, {"status": "ready"})

    return bp
