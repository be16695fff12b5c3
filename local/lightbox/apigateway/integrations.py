"""Integrations other than a Lambda proxy: MOCK (REST), HTTP_PROXY to a local URL, and SQS SendMessage
(REST `AWS` integrations to `...:sqs:path/ACCOUNT/QUEUE` and HTTP API `SQS-SendMessage`), through the
emulator's SQS so the queue's function gets the message. Request templates (VTL) are rendered for the
few references these integrations are written with (`$input.body`, `$util.urlEncode(...)`, `$context.*`).
"""

from __future__ import annotations

import http.client
import json
import re
import uuid
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, urlsplit

from lightbox.apigateway.events import HttpRequest
from lightbox.apigateway.responses import HttpResponse
from lightbox.sqs.messages import new_message
from lightbox.template.apimodel import Integration

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


class Sender(Protocol):
    def send(self, queue: str, messages: list[dict[str, Any]], delay_seconds: int = 0) -> None: ...


class IntegrationFailed(RuntimeError):
    """The integration could not be run (API Gateway answers 500)."""


class IntegrationTimedOut(RuntimeError):
    """The integration did not answer within its timeout (API Gateway's 504, or 503 on HTTP APIs)."""


def is_local_url(uri: str) -> bool:
    host = urlsplit(uri).hostname or ""
    return host in LOCAL_HOSTS or host.endswith(".localhost")


def mock(integration: Integration) -> HttpResponse:
    """A REST MOCK integration: the request template's statusCode selects the integration response, whose
    responseParameters ('literal' values) and responseTemplates make the answer."""
    template = str(next(iter(integration.request_templates.values()), "") or "")
    found = re.search(r'"?statusCode"?\s*:\s*"?(\d{3})', template)
    status = found.group(1) if found else "200"
    chosen: dict[str, Any] = {}
    for pattern, response in integration.responses.items():
        if isinstance(response, dict) and pattern != "default" and re.fullmatch(pattern, status):
            chosen = response
            break
    else:
        default = integration.responses.get("default")
        chosen = default if isinstance(default, dict) else {}
    headers = [("Content-Type", "application/json")]
    for key, value in (chosen.get("responseParameters") or {}).items():
        name = str(key).removeprefix("method.response.header.")
        text = str(value)
        if name != str(key) and text.startswith("'") and text.endswith("'"):
            headers.append((name, text[1:-1]))
    templates = chosen.get("responseTemplates") or {}
    body = str(next(iter(templates.values()), "") or "") if isinstance(templates, dict) else ""
    return HttpResponse(int(str(chosen.get("statusCode", status))), headers, body.encode())


def http_proxy(integration: Integration, req: HttpRequest, params: dict[str, str], timeout: float) -> HttpResponse:
    """HTTP_PROXY: the request as it came (path variables put into the URI) to a local URL, its answer as-is."""
    uri = re.sub(r"\{([\w.-]+)\+?\}", lambda m: quote(params.get(m.group(1), ""), safe="/"), integration.uri)
    if not is_local_url(uri):
        raise IntegrationFailed(f"{uri} is not a local URL; only local HTTP_PROXY targets are reached")
    parts = urlsplit(uri)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if req.query_string:
        target += ("&" if parts.query else "?") + req.query_string
    method = integration.http_method if integration.http_method not in ("", "ANY") else req.method
    conn_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_type(parts.hostname or "localhost", parts.port, timeout=timeout)
    try:
        headers = {k: v for k, v in req.headers if k.lower() not in _HOP_BY_HOP}
        conn.request(method, target, body=req.body or None, headers=headers)
        answer = conn.getresponse()
        body = answer.read()
        kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
        return HttpResponse(answer.status, kept, body)
    except TimeoutError:
        raise IntegrationTimedOut(uri) from None
    except OSError as exc:
        raise IntegrationFailed(f"{uri}: {exc}") from exc
    finally:
        conn.close()


def _render(template: str, req: HttpRequest, request_id: str) -> str:
    """The VTL references SQS integrations are written with; anything else is left as written."""
    text = req.body.decode("utf-8", errors="replace")
    out = template.replace("$util.urlEncode($input.body)", quote(text, safe=""))
    out = out.replace("$input.json('$')", text).replace("$input.body", text)
    return out.replace("$context.requestId", request_id)


def _selection(expr: Any, req: HttpRequest, request_id: str) -> str:
    """An HTTP API parameter mapping value: $request.body[.a.b], $request.header.x, $request.querystring.x."""
    value = str(expr)
    body = req.body.decode("utf-8", errors="replace")
    if value == "$request.body":
        return body
    if value.startswith("$request.body."):
        node: Any = json.loads(body or "null")
        for key in value.removeprefix("$request.body.").split("."):
            node = node.get(key) if isinstance(node, dict) else None
        return node if isinstance(node, str) else json.dumps(node)
    if value.startswith("$request.header."):
        return req.header(value.removeprefix("$request.header."))
    if value.startswith("$request.querystring."):
        name = value.removeprefix("$request.querystring.")
        return next((v for k, v in req.query if k == name), "")
    return value.replace("$context.requestId", request_id)


def sqs_send(integration: Integration, req: HttpRequest, sender: Sender | None,
             queues: dict[str, Any]) -> HttpResponse:
    request_id = str(uuid.uuid4())
    if integration.subtype == "SQS-SendMessage":
        params = integration.request_parameters
        queue_url, body = str(params.get("QueueUrl", "")), _selection(params.get("MessageBody", ""), req, request_id)
    else:
        template = str(next(iter(integration.request_templates.values()), "Action=SendMessage&MessageBody=$input.body"))
        form = {k: v[0] for k, v in parse_qs(_render(template, req, request_id), keep_blank_values=True).items()}
        queue_url = integration.uri.split(":sqs:path/", 1)[-1] if ":sqs:path/" in integration.uri else \
            form.get("QueueUrl", "")
        body = form.get("MessageBody", "")
    queue = queue_url.rstrip("/").rsplit("/", 1)[-1]
    if sender is None or queue not in queues:
        raise IntegrationFailed(f"{queue_url!r} is not a queue of this template")
    message = new_message(body)
    sender.send(queue, [message])
    answer = {"SendMessageResponse": {"ResponseMetadata": {"RequestId": request_id}, "SendMessageResult": {
        "MD5OfMessageAttributes": None, "MD5OfMessageBody": message["md5OfBody"],
        "MD5OfMessageSystemAttributes": None, "MessageId": message["messageId"], "SequenceNumber": None}}}
    return HttpResponse(200, [("Content-Type", "application/json")], json.dumps(answer).encode())
