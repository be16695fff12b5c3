"""Events put on a bus, to each target of each enabled rule whose pattern matches them.

An event reaches the bus from a function's or a shell's `PutEvents` to the moto server (its front
hands accepted entries over: services/published.py) or from `lightbox event put`. A function
target is invoked asynchronously, as EventBridge invokes functions; a queue target gets the text
as a message. Each target gets the event, or what its Input/InputPath/InputTransformer makes of it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, request

from lightbox.eventbridge.transform import target_input
from lightbox.sqs.messages import new_message
from lightbox.sqs.queues import Broker
from lightbox.template.model import RuleTrigger
from lightbox.template.patterns import parse

log = logging.getLogger("lightbox.events")


def bus_name(value: str | None) -> str:
    """EventBusName is a name or an ARN (`arn:aws:events:r:a:event-bus/name`); none is `default`."""
    return (value or "default").rsplit("/", 1)[-1] if (value or "").startswith("arn:") else (value or "default")


def bus_event(entry: dict[str, Any], region: str, account: str) -> dict[str, Any]:
    """A PutEvents entry as EventBridge delivers it (moto gave its EventId; the front stamped its time)."""
    detail = entry.get("Detail") or "{}"
    return {
        "version": "0",
        "id": entry["EventId"],
        "detail-type": entry.get("DetailType", ""),
        "source": entry.get("Source", ""),
        "account": account,
        "time": entry["Time"],
        "region": region,
        "resources": list(entry.get("Resources") or []),
        "detail": json.loads(detail) if isinstance(detail, str) else detail,
    }


def deliver(broker: Broker, entries: list[dict[str, Any]]) -> int:
    """Queue every delivery of these entries; how many there are."""
    template, count = broker.template, 0
    for entry in entries:
        event = bus_event(entry, template.region, template.account_id)
        for fn, trig in broker.template.bus_rules(bus_name(entry.get("EventBusName"))):
            if parse(trig.pattern).matches(event):
                count += _send(broker, fn.name if fn else None, trig, event)
    return count


def _send(broker: Broker, function: str | None, trig: RuleTrigger, event: dict[str, Any]) -> int:
    t = broker.template
    arn = f"arn:aws:events:{t.region}:{t.account_id}:rule/" + (trig.rule if trig.bus == "default"
                                                                else f"{trig.bus}/{trig.rule}")
    text = target_input(event, arn, trig.rule, input=trig.input, input_path=trig.input_path,
                        input_paths=trig.input_paths, input_template=trig.input_template)
    if function is None:
        broker.send(trig.queue, [new_message(text)])
        return 1
    try:
        payload = json.loads(text)
    except ValueError:  # EventBridge counts it a failed invocation: Lambda takes JSON only
        log.error("events: rule %s target %s: the input is not JSON, so %s is not invoked: %s",
                  trig.rule, trig.target_id, function, text[:200])
        return 0
    broker.invoke_async(function, payload, f"events:{trig.rule}")
    return 1


def blueprint(broker: Broker) -> Blueprint:
    """`POST /_lightbox/published/events`: where the moto server's front hands the events put."""
    bp = Blueprint("events", __name__)

    @bp.post("/_lightbox/published/events")
    def published() -> Response:
        body: dict[str, Any] = request.get_json(force=True)
        return Response(json.dumps({"deliveries": deliver(broker, body.get("entries", []))}),
                        mimetype="application/json")

    return bp
