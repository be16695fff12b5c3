"""A front on the moto server's SNS and EventBridge: moto answers every call as before; a message
published (Publish, PublishBatch) or an event put (PutEvents) that moto accepted is then posted to
the emulator, which delivers it to the template's subscribers and rule targets (sns/, eventbridge/).

moto itself delivers only to what lives inside moto; the template's functions and queues live in
the emulator. The post is made before the caller gets its answer, so when `Publish` returns the
deliveries are queued, as they are on AWS once it has answered. When the emulator cannot be
reached, moto's answer still goes back; the failure is logged.

The emulator's address is given at start (`python -m lightbox.services.cloud --hook URL`); the
front posts to URL/sns and URL/events.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

log = logging.getLogger("lightbox.published")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Hook:
    url: str | None = None  # set once by cloud.py's main; None: nothing is forwarded


class PublishFront:
    """WSGI middleware for moto's SNS or EventBridge app."""

    def __init__(self, app: WsgiApp, service: str) -> None:
        self.app, self.service = app, service

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if Hook.url is None or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            parsed = self._request(environ, body)
        except ValueError:  # not JSON, not UTF-8: moto answers it with its own error
            parsed = None
        if parsed is None:
            return self.app(environ, start_response)
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"] = status
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        try:
            chunks = list(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if str(answer.get("status", "")).startswith("200"):
            try:
                payload = self._payload(parsed, b"".join(chunks))
                if payload:
                    post(f"{Hook.url}/{self.service}", payload)
            except Exception:  # moto's answer must reach the caller whatever happens here
                log.exception("lightbox: could not hand a published %s message to the emulator", self.service)
        return chunks

    def _request(self, environ: dict[str, Any], body: bytes) -> dict[str, Any] | None:
        if self.service == "events":
            if environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1] != "PutEvents":
                return None
            return {"action": "PutEvents", **json.loads(body or b"{}")}
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        form.update({k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()})
        return form if form.get("Action") in ("Publish", "PublishBatch") else None

    def _payload(self, req: dict[str, Any], answer: bytes) -> dict[str, Any] | None:
        now = datetime.now(UTC)
        if self.service == "events":
            return events_payload(req, json.loads(answer), now)
        return sns_payload(req, answer, now)


def sns_payload(form: dict[str, str], answer: bytes, now: datetime) -> dict[str, Any] | None:
    """The published messages, as SNS hands them to subscribers (attributes as {Type, Value})."""
    topic = form.get("TopicArn") or form.get("TargetArn")
    if not topic:
        return None  # an SMS or a platform endpoint: no subscribers of ours
    root = ET.fromstring(answer)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    if form["Action"] == "Publish":
        message_id = root.findtext(".//{*}MessageId") or ""
        return {"topic_arn": topic, "messages": [_message(form, "", message_id, stamp)]}
    ids = {m.findtext("{*}Id"): m.findtext("{*}MessageId") for m in root.iterfind(".//{*}Successful/{*}member")}
    messages = []
    i = 1
    while f"PublishBatchRequestEntries.member.{i}.Id" in form:
        prefix = f"PublishBatchRequestEntries.member.{i}."
        entry_id = form[f"{prefix}Id"]
        if ids.get(entry_id):
            messages.append(_message(form, prefix, str(ids[entry_id]), stamp))
        i += 1
    return {"topic_arn": topic, "messages": messages}


def _message(form: dict[str, str], prefix: str, message_id: str, stamp: str) -> dict[str, Any]:
    attributes = {}
    n = 1
    while f"{prefix}MessageAttributes.entry.{n}.Name" in form:
        at = f"{prefix}MessageAttributes.entry.{n}."
        data_type = form.get(f"{at}Value.DataType", "String")
        value = form.get(f"{at}Value.StringValue", form.get(f"{at}Value.BinaryValue", ""))
        attributes[form[f"{at}Name"]] = {"Type": data_type, "Value": value}
        n += 1
    return {"MessageId": message_id, "Message": form.get(f"{prefix}Message", ""),
            "Subject": form.get(f"{prefix}Subject"), "MessageStructure": form.get(f"{prefix}MessageStructure"),
            "MessageGroupId": form.get(f"{prefix}MessageGroupId"),
            "MessageAttributes": attributes, "Timestamp": stamp}


def events_payload(req: dict[str, Any], answer: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """The entries moto accepted, each with the EventId it gave and the time EventBridge stamps."""
    entries = []
    for entry, result in zip(req.get("Entries") or [], answer.get("Entries") or [], strict=False):
        if not result.get("EventId"):
            continue  # refused (ErrorCode): AWS delivers nothing for it either
        when = entry.get("Time")
        stamp = datetime.fromtimestamp(float(when), UTC) if isinstance(when, int | float) else now
        entries.append({**entry, "EventId": result["EventId"], "Time": stamp.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return {"entries": entries} if entries else None


def leave_deliveries_to_the_emulator() -> None:
    """moto delivers to `lambda` and `sqs` subscriptions itself, into its own Lambda and SQS, where the
    template's functions and queues are not: a Publish to a topic with a function subscribed on moto
    then fails (Function not found). The emulator delivers to those (sns/delivery.py), so moto keeps
    to the other protocols."""
    from moto.sns.models import Subscription

    original = Subscription.publish
    if getattr(original, "lightbox_emulator_delivers", False):
        return

    @functools.wraps(original)
    def publish(self: Subscription, *args: Any, **kwargs: Any) -> None:
        if self.protocol not in ("lambda", "sqs"):
            original(self, *args, **kwargs)

    publish.lightbox_emulator_delivers = True  # type: ignore[attr-defined]
    Subscription.publish = publish  # type: ignore[method-assign]


def post(url: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    log.debug("handed to %s in %.1f ms", url, (time.monotonic() - started) * 1000)
