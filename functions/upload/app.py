"""upload (HTTP API): create uploads, take multipart uploads, list, show and delete photos.

POST /uploads        {filename, content_type, size} -> row pending_upload + presigned POST and PUT
POST /photos         multipart/form-data with a `file` part: the function stores the blob itself
GET  /photos         ?status=&limit=&cursor= -> {items, next_cursor}, newest first
GET  /photos/{id}    the record, its metadata and presigned GET URLs of the original and derivatives
DELETE /photos/{id}  the row first (stages then see it gone), then every blob
"""

from __future__ import annotations

import base64
import json
import logging
import re
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from pydantic import ValidationError

from photolib import auth, deadline
from photolib.config import load_settings
from photolib.exceptions import InvalidCursor, RateLimited, TransientError, Unauthorized
from photolib.http import ApiError, Response, json_response
from photolib.models import (
    EventType,
    HttpApiEvent,
    Photo,
    PhotoEvent,
    PhotoStatus,
    UploadRequest,
    new_id,
)
from photolib.pipeline import Deps, derivative_prefix, original_key
from photolib.ratelimit import check_upload_rate

log = logging.getLogger(__name__)

_ERROR_CODES = {"filename": "invalid_filename", "content_type": "unsupported_content_type", "size": "invalid_size"}



def handler(event: dict[str, Any], context: Any) -> Response:
    request = HttpApiEvent.model_validate(event)
    try:
        route = _route(request)
        client_id_of(request)  # a request without a valid token is a 401 before its body is looked at
        with deadline.invocation(context):
            return route(request, Deps.load())
    except ApiError as exc:
        return exc.response()
    except RateLimited as exc:
        return json_response(429, {"error": {"code": "rate_limited", "message": str(exc)}},
                     headers={"retry-after": str(exc.retry_after)})
    except TransientError as exc:
        log.warning("transient failure: %s", exc)
        return json_response(503, {"error": {"code": "unavailable", "message": "storage is busy; retry shortly"}},
                     headers={"retry-after": "1"})


def client_id_of(request: HttpApiEvent) -> str:
    """Who is asking: the client named by the request's signed token (photolib/auth.py)."""
    try:
        return auth.client_of(request, load_settings())
    except Unauthorized as exc:
        raise ApiError(401, exc.code, exc.message) from None


# --- routes ---------------------------------------------------------------------------------


def create_upload(request: HttpApiEvent, deps: Deps) -> Response:
    check_upload_rate(client_id_of(request), deps.settings, deps.redis)
    upload = _parse_upload(_json_body(request), deps)
    photo = _new_photo(request, upload)
    deps.repo.create(photo)
    expires = deps.settings.presign_expires
    post = deps.storage.presign_post(photo.key, photo.content_type, photo.declared_size, expires)
    put_url = deps.storage.presign_put(photo.key, photo.content_type, expires)
    return json_response(201, {
        "photo": _public(photo),
        "upload": {
            "post": {"url": post.url, "fields": post.fields},
            "put": {"url": put_url, "method": "PUT", "headers": {"Content-Type": photo.content_type}},
            "expires_in": expires,
        },
    })


def upload_photo(request: HttpApiEvent, deps: Deps) -> Response:
    check_upload_rate(client_id_of(request), deps.settings, deps.redis)
    filename, content_type, data = _file_part(request, deps.settings.max_upload_bytes)
    upload = _parse_upload({"filename": filename, "content_type": content_type, "size": len(data)}, deps)
    photo = _new_photo(request, upload)
    # Row before blob: the bucket event that follows must find a row, or ingest calls it an orphan.
    deps.repo.create(photo)
    try:
        deps.storage.put(photo.key, data, photo.content_type)
    except Exception:
        deps.repo.delete(photo.id)
        raise
    return json_response(201, {"photo": _public(photo)})


def list_photos(request: HttpApiEvent, deps: Deps) -> Response:
    q = request.queryStringParameters
    status = None
    if q.get("status"):
        try:
            status = PhotoStatus(q["status"])
        except ValueError:
            raise ApiError(400, "invalid_status", f"status must be one of: {', '.join(PhotoStatus)}") from None
    try:
        limit = int(q.get("limit") or deps.settings.page_size)
    except ValueError:
        raise ApiError(400, "invalid_limit", "limit must be a whole number from 1 to 1000") from None
    if not 1 <= limit <= 1000:
        raise ApiError(400, "invalid_limit", "limit must be a whole number from 1 to 1000")
    try:
        photos, cursor = deps.repo.page(client_id_of(request), status=status, limit=limit, cursor=q.get("cursor"))
    except InvalidCursor as exc:
        raise ApiError(400, "invalid_cursor", str(exc)) from None
    return json_response(200, {"items": [_public(p) for p in photos], "next_cursor": cursor})


def get_photo(request: HttpApiEvent, deps: Deps) -> Response:
    photo = _own_photo(request, deps)
    expires = deps.settings.presign_expires
    results = deps.repo.stage_results(photo.id)
    derivatives = {
        d.kind: {"url": deps.storage.presign_get(d.key, expires), "content_type": d.content_type,
                 "width": d.width, "height": d.height, "size": d.size}
        for d in deps.repo.derivatives(photo.id)
    }
    original = {"url": deps.storage.presign_get(photo.key, expires)} if photo.status != "pending_upload" else None
    return json_response(200, {
        "photo": _public(photo), "metadata": results.get("metadata"), "original": original,
        "derivatives": derivatives, "stages": sorted(results), "expires_in": expires,
    })


def delete_photo(request: HttpApiEvent, deps: Deps) -> Response:
    photo = _own_photo(request, deps)
    # Row first: a stage running now then finds no row and removes what it writes itself.
    if deps.repo.delete(photo.id):
        deps.storage.delete(photo.key)
        deps.storage.delete_prefix(derivative_prefix(photo.client_id, photo.id))
        deps.publish(PhotoEvent.about(EventType.DELETED, photo))
    return {"statusCode": 204, "headers": {}, "body": ""}


_ROUTES = {
    ("POST", "/uploads"): create_upload,
    ("POST", "/photos"): upload_photo,
    ("GET", "/photos"): list_photos,
    ("GET", "/photos/{id}"): get_photo,
    ("DELETE", "/photos/{id}"): delete_photo,
}
_PHOTO_PATH = re.compile(r"^/photos/(?P<id>[^/]+)$")


def _route(request: HttpApiEvent) -> Any:
    method = request.requestContext.http.method.upper()
    if request.routeKey != "$default":  # API Gateway names the matched route, e.g. "GET /photos/{id}"
        route_method, _, path = request.routeKey.partition(" ")
        key = (route_method.upper(), path)
    else:  # a catch-all route: match the raw path ourselves
        path, m = request.rawPath.rstrip("/") or "/", _PHOTO_PATH.match(request.rawPath)
        if m:
            request.pathParameters.setdefault("id", m["id"])
            path = "/photos/{id}"
        key = (method, path)
    if key in _ROUTES:
        return _ROUTES[key]
    allowed = sorted(f"{m} {p}" for m, p in _ROUTES)
    raise ApiError(404, "no_route", f"no route for {method} {request.rawPath}; routes: {', '.join(allowed)}")


# --- helpers ------------------------------------------------------------------------------


def _new_photo(request: HttpApiEvent, upload: UploadRequest) -> Photo:
    client_id, photo_id = client_id_of(request), new_id()
    return Photo(
        id=photo_id, client_id=client_id, filename=upload.filename, content_type=upload.content_type,
        declared_size=upload.size, key=original_key(client_id, photo_id),
        session_id=request.header("x-session-id"), trace_id=request.header("x-trace-id") or new_id(),
    )


def _own_photo(request: HttpApiEvent, deps: Deps) -> Photo:
    photo_id = request.pathParameters.get("id", "")
    photo = deps.repo.get(photo_id, client_id=client_id_of(request))
    if photo is None:  # another client's photo is indistinguishable from a missing one
        raise ApiError(404, "not_found", f"no photo {photo_id!r}")
    return photo


def _parse_upload(data: Any, deps: Deps) -> UploadRequest:
    try:
        return UploadRequest.model_validate(data, context={"max_upload_bytes": deps.settings.max_upload_bytes})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "body"
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            message = f"{field} is required; send JSON {{filename, content_type, size}}"
        raise ApiError(400, _ERROR_CODES.get(field, "invalid_request"), f"{field}: {message}") from None


def _raw_body(request: HttpApiEvent) -> bytes:
    body = request.body or ""
    return base64.b64decode(body) if request.isBase64Encoded else body.encode()


def _json_body(request: HttpApiEvent) -> Any:
    try:
        return json.loads(_raw_body(request) or b"null")
    except ValueError:
        raise ApiError(400, "invalid_json", "body must be JSON: {filename, content_type, size}") from None


def _file_part(request: HttpApiEvent, max_bytes: int) -> tuple[str, str, bytes]:
    content_type = request.header("content-type") or ""
    if not content_type.lower().startswith("multipart/form-data"):
        raise ApiError(415, "unsupported_media_type", "send multipart/form-data with the image in a 'file' part")
    body = _raw_body(request)
    if len(body) > max_bytes + 64 * 1024:  # the file plus generous room for the form's headers
        raise ApiError(413, "too_large", f"the upload is over the limit of {max_bytes} bytes")
    # The stdlib MIME parser reads multipart/form-data once it is told the boundary via the header.
    form = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    for part in form.iter_parts() if isinstance(form, EmailMessage) else ():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            return part.get_filename() or "", part.get_content_type(), payload if isinstance(payload, bytes) else b""
    raise ApiError(400, "missing_file", "the form has no 'file' part; send the image as field 'file'")


def _public(photo: Photo) -> dict[str, Any]:
    return photo.model_dump(mode="json", exclude={"key"})


