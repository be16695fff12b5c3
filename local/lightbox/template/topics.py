"""SNS topics and their subscriptions as the template declares them: `AWS::SNS::Subscription`
(SAM's `SNS` events make these, `SqsSubscription` a queue and a mapping too) and a topic's own
`Subscription` list. Functions and the template's queues get what is published; other protocols
(email, http, sms ...) are one line each.
"""

from __future__ import annotations

import json
from typing import Any

from lightbox.exceptions import TemplateError
from lightbox.template import checks
from lightbox.template.building import PendingTrigger, Res, Scope
from lightbox.template.model import SnsTrigger
from lightbox.template.rules import event_name
from lightbox.template.sources import arn_name, arn_service

_SCOPES = ("MessageAttributes", "MessageBody")
_NOT_EMULATED = {
    "RedrivePolicy": "is not used: a message the endpoint does not take is dropped, not sent to the queue",
    "DeliveryPolicy": "is not applied: delivery is not retried on SNS's schedule",
    "ReplayPolicy": "is not applied: archived messages are not replayed",
}


def build_topic(scope: Scope, res: Res) -> None:
    p, name = res.props, res.name
    if checks.boolean(p.get("FifoTopic"), name, "FifoTopic", default=False):
        scope.load.finding(res, "FifoTopic", "FIFO ordering and deduplication are not emulated; messages are "
                                             "delivered as by a standard topic")
    for i, sub in enumerate(checks.listing(p.get("Subscription"), name, "Subscription")):
        sub = checks.mapping(sub, name, f"Subscription[{i}]")
        protocol = checks.string(sub.get("Protocol"), name, f"Subscription[{i}].Protocol")
        endpoint = checks.string(sub.get("Endpoint"), name, f"Subscription[{i}].Endpoint")
        trig = SnsTrigger(res.physical, res.logical_id if i == 0 else f"{res.logical_id}-{i}",
                          subscription=res.logical_id)
        _subscribe(scope, res, protocol, endpoint, trig, f"Subscription[{i}]")


def build_subscription(scope: Scope, res: Res) -> None:
    p, name = res.props, res.name
    topic = checks.string(p.get("TopicArn"), name, "TopicArn")
    if arn_service(topic) not in ("sns", ""):
        raise TemplateError(name, res.prop_path("TopicArn"), "must be a topic ARN (!Ref Topic)")
    where = res.prop_path("FilterPolicyScope")
    scope_name = checks.string(p.get("FilterPolicyScope"), name, where, default="MessageAttributes")
    if scope_name not in _SCOPES:
        raise TemplateError(name, where, f"{scope_name!r}: SNS takes {' or '.join(_SCOPES)}")
    policy = filter_policy(p.get("FilterPolicy"), res, scope_name)
    raw = str(p.get("RawMessageDelivery", False)).lower() == "true"
    for prop, message in _NOT_EMULATED.items():
        if p.get(prop):
            scope.load.finding(res, prop, message)
    trig = SnsTrigger(arn_name(topic), event_name(res), policy, scope_name, raw=raw,
                      subscription=res.logical_id)
    _subscribe(scope, res, checks.string(p.get("Protocol"), name, "Protocol"),
               checks.string(p.get("Endpoint"), name, "Endpoint", default=""), trig, "Endpoint")


def filter_policy(value: Any, res: Res, scope_name: str) -> dict[str, Any] | None:
    """The policy as a dict (CloudFormation takes it as an object or as JSON text), checked as SNS checks
    it at Subscribe, with SNS's own words (moto's checks)."""
    if value in (None, "", {}):
        return None
    where = res.prop_path("FilterPolicy")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise TemplateError(res.name, where, "is not JSON: SNS takes a JSON object") from None
    if not isinstance(value, dict):
        raise TemplateError(res.name, where, "must be a JSON object of attribute names to rules")
    from moto.sns.exceptions import SNSException
    from moto.sns.models import SNSBackend

    try:  # the check reads nothing of the backend's state
        SNSBackend("us-east-1", "000000000000")._validate_filter_policy(value, scope_name)
    except SNSException as exc:
        raise TemplateError(res.name, where, " ".join(exc.message.split())) from None
    return value


def _subscribe(scope: Scope, res: Res, protocol: str, endpoint: str, trig: SnsTrigger, prop: str) -> None:
    protocol = protocol.lower()
    if protocol == "lambda":
        scope.load.triggers.append(PendingTrigger(endpoint, trig, res, prop))
    elif protocol == "sqs":
        if arn_service(endpoint) != "sqs":
            raise TemplateError(res.name, res.prop_path(prop), "must be a queue ARN (!GetAtt Queue.Arn) for "
                                                               "Protocol sqs")
        queue_trig = SnsTrigger(trig.topic, trig.event_name, trig.filter_policy, trig.filter_policy_scope,
                                arn_name(endpoint), trig.raw, trig.subscription)
        scope.load.queue_targets.append(PendingTrigger(endpoint, queue_trig, res, prop))
    else:
        scope.load.finding(res, prop, f"{protocol} subscriptions are not delivered locally: {endpoint or 'it'} "
                                      "gets nothing")
