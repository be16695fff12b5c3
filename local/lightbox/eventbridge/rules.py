"""The template's schedules (rules' and Scheduler's) as EventBridge delivers them when due: an
asynchronous invoke of a function, or a message on a queue."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

from flask import Blueprint, Response

from lightbox.eventbridge.schedule import Scheduler, scheduled_event
from lightbox.sqs.messages import new_message
from lightbox.sqs.queues import Broker
from lightbox.template.model import ScheduleTrigger, Template


def _schedules(template: Template) -> dict[str, tuple[str | None, ScheduleTrigger]]:
    """Every schedule by key: FUNCTION:EVENT for a function's, QUEUE:EVENT for a queue's."""
    found: dict[str, tuple[str | None, ScheduleTrigger]] = {
        f"{f.name}:{t.event_name}": (f.name, t)
        for f in template.functions.values() for t in f.of_kind(ScheduleTrigger)}
    found.update({f"{t.queue}:{t.event_name}": (None, t) for t in template.queue_targets
                  if isinstance(t, ScheduleTrigger)})
    return found


def fire_schedule(broker: Broker, key: str, when: datetime) -> None:
    """EventBridge invokes asynchronously: the scheduled event becomes an async invoke on the queue.
    A rule sends the scheduled event (or the target's Input); Scheduler sends the Input as it is,
    `{}` without one."""
    template = broker.template
    function, trig = _schedules(template)[key]
    name = trig.rule or key.replace(":", "-")
    if trig.input is not None:
        text = trig.input
    elif trig.scheduler:
        text = "{}"
    else:
        rule = f"arn:aws:events:{template.region}:{template.account_id}:rule/{name}"
        text = json.dumps(scheduled_event(rule, template.region, template.account_id, when))
    if function is None:
        broker.send(trig.queue, [new_message(text)])
    else:
        broker.invoke_async(function, json.loads(text), f"schedule:{trig.event_name}")


def schedules(broker: Broker) -> Scheduler:
    """The template's enabled schedules; `lightbox up` runs it in a thread, compose in `lightbox scheduler`."""
    entries = [(key, t.expression) for key, (_, t) in _schedules(broker.template).items() if t.enabled]
    return Scheduler(entries, functools.partial(fire_schedule, broker))


def schedule_keys(broker: Broker) -> list[str]:
    return list(_schedules(broker.template))


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
