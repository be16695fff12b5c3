"""A published message to each of the template's subscribers whose filter policy lets it through:
a function gets SNS's event through an asynchronous invoke (SNS invokes functions asynchronously),
a queue gets SNS's envelope, or the message itself with RawMessageDelivery.

Filter policies (MessageAttributes or MessageBody scope) are SNS's own dialect, not EventBridge's
patterns: moto's SNS matcher applies them, as moto's SNS does for its own subscriptions.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, request
from moto.sns.utils import FilterPolicyMatcher
from rq import get_current_job

from lightbox.queueing import jobs
from lightbox.sns.notifications import Published, lambda_event, raw_attributes, sqs_envelope, subscription_arn
from lightbox.sqs.messages import lambda_attributes, new_message
from lightbox.sqs.queues import Broker
from lightbox.template.model import SnsTrigger

log = logging.getLogger("lightbox.sns")


def passes(sub: SnsTrigger, p: Published, protocol: str) -> bool:
    if not sub.filter_policy:
        return True
    return FilterPolicyMatcher(sub.filter_policy, sub.filter_policy_scope).matches(p.attributes, p.text_for(protocol))


def deliver(broker: Broker, published: list[Published]) -> int:
    """Queue every delivery of these messages; how many there are."""
    count = 0
    for p in published:
        topic = p.topic_arn.rsplit(":", 1)[-1]
        for fn, sub in broker.template.topic_subscribers(topic):
            protocol = "lambda" if fn is not None else "sqs"
            if not passes(sub, p, protocol):
                log.debug("sns: %s filtered out for %s", p.message_id, fn.name if fn else sub.queue)
                continue
            sub_arn = subscription_arn(p.topic_arn, sub.subscription or sub.event_name)
            if fn is not None:
                broker.invoke_async(fn.name, lambda_event(p, sub_arn), f"sns:{sub.event_name}")
            elif sub.raw:
                broker.send(sub.queue, [new_message(p.text_for("sqs"), lambda_attributes(raw_attributes(p)),
                                                    p.group_id)])
            else:
                broker.send(sub.queue, [new_message(sqs_envelope(p, sub_arn), group_id=p.group_id)])
            count += 1
    return count


def publish_job(topic_arn: str, message: str, subject: str | None) -> int:
    """An RQ job: a message an AWS service publishes to a template topic (S3's TopicConfigurations),
    delivered to the topic's subscribers by the worker that takes it."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("publish_job runs as an RQ job")
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    broker = Broker(jobs.runtime().template, job.connection)
    return deliver(broker, [Published(topic_arn, str(uuid.uuid4()), message, stamp, subject)])


def blueprint(broker: Broker) -> Blueprint:
    """`POST /_lightbox/published/sns`: where the moto server's front hands what was published."""
    bp = Blueprint("sns", __name__)

    @bp.post("/_lightbox/published/sns")
    def published() -> Response:
        body: dict[str, Any] = request.get_json(force=True)
        messages = [Published.from_hook(body["topic_arn"], m) for m in body.get("messages", [])]
        return Response(f'{{"deliveries": {deliver(broker, messages)}}}', mimetype="application/json")

    return bp
