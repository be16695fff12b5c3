"""One parser per SAM event source type; each returns the typed trigger or says what is wrong."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from lightbox import config
from lightbox.exceptions import TemplateError
from lightbox.template.expressions import parse_expression
from lightbox.template.model import HttpRoute, S3Trigger, ScheduleTrigger, SqsTrigger, Trigger


def _http(fn: str, name: str, props: Mapping[str, Any], kind: str) -> HttpRoute:
    version = "2.0" if kind == "HttpApi" else "1.0"
    version = str(props.get("PayloadFormatVersion", version))
    if kind == "HttpApi" and "Path" not in props:
        # An HttpApi event with no Path/Method is the API's $default route.
        return HttpRoute("ANY", "/{proxy+}", version, name)
    for key in ("Path", "Method"):
        if key not in props:
            raise TemplateError(fn, f"Events.{name}.Properties.{key}", f"required for {kind} events")
    return HttpRoute(str(props["Method"]).upper(), str(props["Path"]), version, name)


def _s3(fn: str, name: str, props: Mapping[str, Any], kind: str) -> S3Trigger:
    bucket = props.get("Bucket")
    if not isinstance(bucket, str):
        raise TemplateError(fn, f"Events.{name}.Properties.Bucket", "must be !Ref of a bucket in this template")
    events = props.get("Events") or []
    events = (events,) if isinstance(events, str) else tuple(events)
    if not events:
        raise TemplateError(fn, f"Events.{name}.Properties.Events", "names no S3 event type")
    prefix, suffix = key_filter(props.get("Filter"), fn, f"Events.{name}.Properties.Filter")
    return S3Trigger(bucket, events, prefix, suffix, name)


def key_filter(spec: Any, resource: str, where: str) -> tuple[str, str]:
    """An S3 `Filter: {S3Key: {Rules: [...]}}` as (prefix, suffix); SAM events and buckets share it."""
    rules = ((spec or {}).get("S3Key") or {}).get("Rules") or []
    found = {str(r.get("Name", "")).lower(): str(r.get("Value", "")) for r in rules}
    unknown = set(found) - {"prefix", "suffix"}
    if unknown:
        raise TemplateError(resource, where, f"rule names {sorted(unknown)}: use prefix/suffix")
    return found.get("prefix", ""), found.get("suffix", "")


def _sqs(fn: str, name: str, props: Mapping[str, Any], kind: str) -> SqsTrigger:
    arn = props.get("Queue")
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise TemplateError(fn, f"Events.{name}.Properties.Queue", "must be a queue ARN (!GetAtt Queue.Arn)")
    return SqsTrigger(
        queue=arn.rsplit(":", 1)[-1],
        batch_size=int(props.get("BatchSize", config.SQS_BATCH_SIZE)),
        report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
        enabled=bool(props.get("Enabled", True)),
        event_name=name,
    )


def _schedule(fn: str, name: str, props: Mapping[str, Any], kind: str) -> ScheduleTrigger:
    expr = props.get("Schedule") or props.get("ScheduleExpression")
    if not isinstance(expr, str):
        raise TemplateError(fn, f"Events.{name}.Properties.Schedule", "required: rate(...) or cron(...)")
    try:
        parse_expression(expr)
    except ValueError as exc:
        raise TemplateError(fn, f"Events.{name}.Properties.Schedule", str(exc)) from None
    payload = props.get("Input")
    enabled = props.get("Enabled", str(props.get("State", "ENABLED")).upper() == "ENABLED")
    return ScheduleTrigger(expr, payload if isinstance(payload, str) or payload is None else json.dumps(payload),
                           bool(enabled), name)


_PARSERS: dict[str, Callable[[str, str, Mapping[str, Any], str], Trigger]] = {
    "HttpApi": _http, "Api": _http, "S3": _s3, "SQS": _sqs, "Schedule": _schedule, "ScheduleV2": _schedule,
}


def parse_trigger(fn: str, name: str, spec: Mapping[str, Any]) -> Trigger:
    kind = spec.get("Type")
    parser = _PARSERS.get(str(kind))
    if parser is None:
        raise TemplateError(fn, f"Events.{name}.Type",
                            f"{kind} events are not emulated (supported: {', '.join(_PARSERS)})")
    return parser(fn, name, spec.get("Properties") or {}, str(kind))
