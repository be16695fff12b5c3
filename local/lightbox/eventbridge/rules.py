"""The template's Schedule events as EventBridge delivers them: an asynchronous invoke when due."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

from flask import Blueprint, Response

from lightbox.eventbridge.schedule import Scheduler, scheduled_event
from lightbox.sqs.queues import Broker
from lightbox.template.model import ScheduleTrigger


def fire_schedule(broker: Broker, key: str, when: datetime) -> None:
    """EventBridge invokes asynchronously: the scheduled event becomes an async invoke on the queue."""
    template = broker.template
    function, event_name = key.split(":", 1)
    trig = next(t for t in template.function(function).of_kind(ScheduleTrigger) if t.event_name == event_name)
    name = trig.rule or f"{function}-{event_name}"
    rule = f"arn:aws:events:{template.region}:{template.account_id}:rule/{name}"
    event = json.loads(trig.input) if trig.input else scheduled_event(
        rule, template.region, template.account_id, when)
    broker.invoke_async(function, event, f"schedule:{event_name}")


def schedules(broker: Broker) -> Scheduler:
    """The template's enabled schedules; `lightbox up` runs it in a thread, compose in `lightbox scheduler`."""
    entries = [(f"{f.name}:{t.event_name}", t.expression) for f in broker.template.functions.values()
               for t in f.of_kind(ScheduleTrigger) if t.enabled]
    return Scheduler(entries, functools.partial(fire_schedule, broker))


def schedule_keys(broker: Broker) -> list[str]:
    return [f"{f.name}:{t.event_name}" for f in broker.template.functions.values() for t in f.of_kind(ScheduleTrigger)]


def blueprint(broker: Broker) -> Blueprint:
    """`POST /_lightbox/schedules/FUNCTION:EVENT` fires a schedule now, as EventBridge would when it is due:
    the way to try a daily schedule without waiting a day."""
    bp = Blueprint("schedules", __name__)

    @bp.post("/_lightbox/schedules/<path:key>")
    def fire(key: str) -> Response:
        keys = schedule_keys(broker)
        if key not in keys:
            body = {"error": f"no schedule {key!r}", "schedules": keys}
            return Response(json.dumps(body), status=404, mimetype="application/json")
        fire_schedule(broker, key, datetime.now(UTC))
        return Response(json.dumps({"fired": key}), status=202, mimetype="application/json")

    return bp
