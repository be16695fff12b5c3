"""DestinationConfig.OnFailure of a stream event source mapping: the invocation record AWS sends to an
SQS queue or SNS topic when a batch is given up on (no records in it: where to find them)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lightbox.eventsources.shards import arrival, sequence_number
from lightbox.sqs.messages import new_message
from lightbox.sqs.queues import Broker
from lightbox.template.model import StreamTrigger

log = logging.getLogger("lightbox.eventsources")

Discard = Callable[[str, StreamTrigger, str, str, list[dict[str, Any]], int, str, str | None], None]


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def failure_record(function_arn: str, trigger: StreamTrigger, arn: str, shard: str, batch: list[dict[str, Any]],
                   attempts: int, condition: str, error: str | None) -> dict[str, Any]:
    info = "DDBStreamBatchInfo" if trigger.source == "dynamodb" else "KinesisBatchInfo"
    return {
        "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": function_arn, "condition": condition,
                           "approximateInvokeCount": attempts},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                            **({"functionError": "Unhandled"} if error else {})},
        "version": "1.0",
        "timestamp": _iso(datetime.now(UTC).timestamp()),
        info: {"shardId": shard, "startSequenceNumber": sequence_number(batch[0]),
               "endSequenceNumber": sequence_number(batch[-1]),
               "approximateArrivalOfFirstRecord": _iso(arrival(batch[0])),
               "approximateArrivalOfLastRecord": _iso(arrival(batch[-1])),
               "batchSize": len(batch), "streamArn": arn},
    }


class OnFailure:
    """Sends to a queue of the template through the emulator's SQS, to a topic through SNS (moto)."""

    def __init__(self, broker: Broker, sns: Callable[[], Any]) -> None:
        self.broker, self.sns = broker, sns

    def __call__(self, function: str, trigger: StreamTrigger, arn: str, shard: str, batch: list[dict[str, Any]],
                 attempts: int, condition: str, error: str | None) -> None:
        t = self.broker.template
        fn = t.function(function)
        fn_arn = f"arn:aws:lambda:{t.region}:{t.account_id}:function:{fn.function_name or fn.name}"
        record = failure_record(fn_arn, trigger, arn, shard, batch, attempts, condition, error)
        target = trigger.on_failure
        log.error("%s: gave up on %d record(s) of %s (%s, %d attempt(s)); %s", function, len(batch), arn, condition,
                  attempts, f"sent to {target}" if target else "no OnFailure destination: skipped")
        if not target:
            return
        service, name = target.split(":")[2], target.rsplit(":", 1)[-1]
        if service == "sqs" and name in self.broker.queue_names():
            self.broker.send(name, [new_message(json.dumps(record))])
        elif service == "sns":
            self.sns().publish(TopicArn=target, Message=json.dumps(record))
        else:
            log.error("%s: OnFailure destination %s is not a queue of this template nor a topic; not sent",
                      function, target)
