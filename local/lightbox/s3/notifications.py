"""Delivery of bucket events to the functions whose S3 trigger matches and the queues a bucket notifies."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import unquote_plus

from lightbox import config
from lightbox.s3.records import normalize
from lightbox.sqs.messages import new_message
from lightbox.sqs.queues import Broker
from lightbox.template.model import S3Trigger

log = logging.getLogger(__name__)
# SNS's fan-out of a message S3 publishes (sns/delivery.py), named for RQ: s3 and sns are siblings.
PUBLISH_JOB = "lightbox.sns.delivery.publish_job"


def deliver(broker: Broker, records: list[dict[str, Any]]) -> int:
    """Queue one asynchronous invoke per (record, matching function), one message per (record, matching
    bucket -> queue notification) and one SNS publish per (record, matching bucket -> topic notification),
    as S3 does; return how many."""
    count = 0
    for raw in records:
        record = normalize(raw, broker.template.region)
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        for fn in broker.template.functions.values():
            for trig in fn.of_kind(S3Trigger):
                if trig.bucket == bucket and trig.matches(record["eventName"], key):
                    broker.invoke_async(fn.name, {"Records": [record]}, f"s3:{bucket}/{key}")
                    count += 1
        target = broker.template.buckets.get(bucket)
        for note in target.queue_notifications if target else ():
            if note.matches(record["eventName"], key):
                broker.send(note.queue, [new_message(json.dumps({"Records": [record]}))])
                count += 1
        for topic in target.topic_notifications if target else ():
            if topic.matches(record["eventName"], key):  # SNS delivers it to the topic's subscribers
                broker.rq_queue(config.ASYNC_QUEUE).enqueue(
                    PUBLISH_JOB, args=(topic.topic, json.dumps({"Records": [record]}), "Amazon S3 Notification"),
                    description=f"s3 {bucket} -> sns {topic.topic}", failure_ttl=14 * 24 * 3600)
                count += 1
        log.debug("bucket event %s %s/%s", record["eventName"], bucket, key)
    return count
