"""EventBridge rules and Scheduler schedules as the template declares them.

`AWS::Events::Rule` (SAM's `EventBridgeRule`, `CloudWatchEvent` and `Schedule` events make these):
a rule with an `EventPattern` on its bus (`EventBusName`, default `default`) sends each event it
matches to its function and queue targets, with the target's `Input`, `InputPath` or
`InputTransformer`; a rule with a `ScheduleExpression` fires on time. `AWS::Scheduler::Schedule`
(SAM's `ScheduleV2`): rate, cron and one-time at() expressions, function and queue targets.
Other targets (Step Functions, Kinesis, API destinations ...) are one line each.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from lightbox.exceptions import TemplateError
from lightbox.template import checks
from lightbox.template.building import PendingTrigger, Res, Scope
from lightbox.template.expressions import parse_expression
from lightbox.template.model import RuleTrigger, ScheduleTrigger
from lightbox.template.patterns import InvalidPattern, parse
from lightbox.template.sources import arn_name, arn_service

_TARGET_NOT_EMULATED = {
    "DeadLetterConfig": "is not used: an event the target does not take is dropped, not sent to the queue",
    "RetryPolicy": "is not applied: failed deliveries are retried as Lambda's async invokes are",
}


def event_name(res: Res) -> str:
    """The SAM event a trigger came from, else its resource's name (the construct id, for CDK)."""
    return res.event or res.name.rsplit("/", 1)[-1]


def _input(payload: Any) -> str | None:
    return payload if isinstance(payload, str) or payload is None else json.dumps(payload)


def _expression(res: Res, prop: str, value: Any, one_time: bool) -> str:
    expression = checks.string(value, res.name, prop)
    if expression.startswith("at(") and not one_time:
        raise TemplateError(res.name, res.prop_path(prop), f"{expression}: rules take rate() or cron(); one-time "
                                                           "at() expressions are EventBridge Scheduler's")
    try:
        parse_expression(expression)
    except ValueError as exc:
        raise TemplateError(res.name, res.prop_path("Schedule" if res.event else prop), str(exc)) from None
    return expression


def _target(scope: Scope, res: Res, arn: str, trig: Any, prop: str) -> None:
    """A function target waits to be attached to its function; a queue target goes with the template."""
    service = arn_service(arn)
    if service == "lambda":
        scope.load.triggers.append(PendingTrigger(arn, trig, res, prop))
    elif service == "sqs":
        scope.load.queue_targets.append(PendingTrigger(arn, _with_queue(trig, arn_name(arn)), res, prop))
    elif service != "states":  # a state machine's own line says it is not run
        scope.load.finding(res, prop, f"{arn} is neither a function nor a queue: it gets nothing")


def _with_queue(trig: Any, queue: str) -> Any:
    return dataclasses.replace(trig, queue=queue)


def build_rule(scope: Scope, res: Res) -> None:
    p, name = res.props, res.name
    targets = [checks.mapping(t, name, f"Targets[{i}]")
               for i, t in enumerate(checks.listing(p.get("Targets"), name, "Targets"))]
    enabled = str(p.get("State", "ENABLED")).upper().startswith("ENABLED")
    if "EventPattern" in p:
        _pattern_rule(scope, res, targets, enabled)
    if "ScheduleExpression" not in p:
        return
    expression = _expression(res, "ScheduleExpression", p["ScheduleExpression"], one_time=False)
    for i, target in enumerate(targets):
        arn = checks.string(target.get("Arn"), name, f"Targets[{i}].Arn")
        for key in ("InputPath", "InputTransformer"):
            if key in target:
                scope.load.finding(res, f"Targets[{i}].{key}", "is not applied on a schedule: the target gets the "
                                                               "scheduled event as it is")
        trig = ScheduleTrigger(expression, _input(target.get("Input")), enabled, event_name(res), res.physical)
        _target(scope, res, arn, trig, f"Targets[{i}].Arn")


def _pattern_rule(scope: Scope, res: Res, targets: list[Mapping[str, Any]], enabled: bool) -> None:
    p, name = res.props, res.name
    try:
        pattern = parse(p["EventPattern"]).source
    except InvalidPattern as exc:
        raise TemplateError(name, res.prop_path("EventPattern"), str(exc)) from None
    bus = arn_name(checks.string(p.get("EventBusName"), name, "EventBusName", default="default"))
    for i, target in enumerate(targets):
        where = f"Targets[{i}]"
        arn = checks.string(target.get("Arn"), name, f"{where}.Arn")
        given = [k for k in ("Input", "InputPath", "InputTransformer") if k in target]
        if len(given) > 1:
            raise TemplateError(name, res.prop_path(where), f"takes one of Input, InputPath and InputTransformer, "
                                                            f"not {' and '.join(given)}")
        transformer = checks.mapping(target.get("InputTransformer"), name, f"{where}.InputTransformer")
        paths = checks.mapping(transformer.get("InputPathsMap"), name, f"{where}.InputTransformer.InputPathsMap")
        if transformer and "InputTemplate" not in transformer:
            raise TemplateError(name, res.prop_path(f"{where}.InputTransformer"), "needs an InputTemplate")
        for key, message in _TARGET_NOT_EMULATED.items():
            if target.get(key):
                scope.load.finding(res, f"{where}.{key}", message)
        trig = RuleTrigger(
            rule=res.physical, bus=bus, pattern=pattern, enabled=enabled, event_name=event_name(res),
            target_id=str(target.get("Id", "")), input=_input(target.get("Input")),
            input_path=checks.optional_string(target.get("InputPath"), name, f"{where}.InputPath"),
            input_paths={str(k): str(v) for k, v in paths.items()} if transformer else None,
            input_template=_input(transformer.get("InputTemplate")) if transformer else None,
        )
        _target(scope, res, arn, trig, f"{where}.Arn")


def build_schedule(scope: Scope, res: Res) -> None:
    """An EventBridge Scheduler schedule (SAM's ScheduleV2 events make these too)."""
    p, name = res.props, res.name
    target = checks.mapping(p.get("Target"), name, "Target")
    arn = checks.string(target.get("Arn"), name, "Target.Arn")
    zone = p.get("ScheduleExpressionTimezone")
    if zone and str(zone).upper() not in ("UTC", "ETC/UTC"):
        scope.load.finding(res, "ScheduleExpressionTimezone", f"{zone} is not applied: the schedule runs in UTC")
    for key in ("StartDate", "EndDate"):
        if key in p:
            scope.load.finding(res, key, "is not applied: the schedule fires from start-up until lightbox stops")
    window = checks.mapping(p.get("FlexibleTimeWindow"), name, "FlexibleTimeWindow")
    minutes = checks.integer(window.get("MaximumWindowInMinutes"), name, "FlexibleTimeWindow.MaximumWindowInMinutes",
                             default=0)
    if str(window.get("Mode", "OFF")).upper() == "FLEXIBLE":
        scope.load.finding(res, "FlexibleTimeWindow", f"is not applied: the schedule fires on time, not anywhere in "
                                                      f"its {minutes}-minute window", kind="warning")
    for key in ("DeadLetterConfig", "RetryPolicy"):
        if target.get(key):
            scope.load.finding(res, f"Target.{key}", _TARGET_NOT_EMULATED[key])
    expression = _expression(res, "ScheduleExpression", p.get("ScheduleExpression"), one_time=True)
    trig = ScheduleTrigger(expression, _input(target.get("Input")), str(p.get("State", "ENABLED")).upper() == "ENABLED",
                           event_name(res), res.physical, minutes, scheduler=True)
    _target(scope, res, arn, trig, "Target.Arn")
