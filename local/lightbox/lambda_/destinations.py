"""Where an asynchronous invocation's outcome goes: the function's `EventInvokeConfig` destinations
(OnSuccess, OnFailure) and its dead-letter queue, in the shapes Lambda sends.

An SQS destination that is a queue of the template is the emulator's own (its consumer gets it);
any other SQS queue, and SNS topics and EventBridge buses, are reached on the embedded cloud with
boto3, where their subscribers and rules take over; a Lambda destination is another asynchronous invoke.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from lightbox import config
from lightbox.lambda_.payloads import error_payload
from lightbox.runtime.invoke import Invocation
from lightbox.sqs.messages import lambda_attributes, new_message
from lightbox.sqs.queues import Broker

log = logging.getLogger("lightbox.async")

# The services Lambda sends destination records and dead letters to.
DESTINATION_SERVICES = ("sqs", "sns", "events", "lambda")
DEAD_LETTER_SERVICES = ("sqs", "sns")
# Lambda's DLQ message attribute ErrorMessage holds the first 1 KB of the error message.
_ERROR_MESSAGE_BYTES = 1024


class DestinationError(Exception):
    """A destination that could not be reached; the outcome is logged instead."""


def record(function_arn: str, request_id: str, condition: str, invoke_count: int, event: Any,
           inv: Invocation | None) -> dict[str, Any]:
    """The invocation record Lambda sends to a destination (`condition`: Success, RetriesExhausted,
    EventAgeExceeded)."""
    now = datetime.now(UTC)
    out: dict[str, Any] = {
        "version": "1.0",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "requestContext": {"requestId": request_id, "functionArn": f"{function_arn}:$LATEST",
                           "condition": condition, "approximateInvokeCount": invoke_count},
        "requestPayload": event,
    }
    if inv is not None:
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if inv.ok:
            out["responsePayload"] = inv.result
        else:
            context["functionError"] = "Unhandled"
            payload = error_payload(inv)
            payload.pop("requestId", None)  # Lambda's record carries it in requestContext
            out["responsePayload"] = payload
        out["responseContext"] = context
    return out


def _client(service: str, region: str) -> Any:
    import boto3

    key, secret = config.credentials()
    return boto3.client(service, endpoint_url=config.cloud_endpoint(), region_name=region,
                        aws_access_key_id=key, aws_secret_access_key=secret)


def _sqs(broker: Broker, arn: str, body: str, attributes: dict[str, Any]) -> None:
    name = arn.split(":")[5]
    if name in broker.queue_names():
        broker.send(name, [new_message(body, lambda_attributes(attributes))])
        return
    client = _client("sqs", arn.split(":")[3])
    url = client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=arn.split(":")[4])["QueueUrl"]
    client.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)


def _sns(arn: str, body: str, attributes: dict[str, Any]) -> None:
    _client("sns", arn.split(":")[3]).publish(TopicArn=arn, Message=body, MessageAttributes=attributes)


def _events(arn: str, rec: dict[str, Any], function_arn: str) -> None:
    outcome = "Success" if rec["requestContext"]["condition"] == "Success" else "Failure"
    _client("events", arn.split(":")[3]).put_events(Entries=[{
        "Source": "lambda", "DetailType": f"Lambda Function Invocation Result - {outcome}",
        "Detail": json.dumps(rec), "EventBusName": arn, "Resources": [function_arn]}])


def send_record(broker: Broker, arn: str, rec: dict[str, Any], function_arn: str) -> None:
    """One destination record to `arn` (SQS, SNS, EventBridge or Lambda); DestinationError if it cannot go."""
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    try:
        if service == "sqs":
            _sqs(broker, arn, json.dumps(rec), {})
        elif service == "sns":
            _sns(arn, json.dumps(rec), {})
        elif service == "events":
            _events(arn, rec, function_arn)
        elif service == "lambda":
            target = arn.split(":")[6]
            broker.invoke_async(broker.template.function(target).name, rec, "destination")
        else:
            raise DestinationError(f"{arn}: destinations of this service are not emulated "
                                   f"(emulated: {', '.join(DESTINATION_SERVICES)})")
    except DestinationError:
        raise
    except Exception as exc:  # a client error, a missing function: said, never lost silently
        raise DestinationError(f"{arn}: {exc}") from exc


def send_dead_letter(broker: Broker, arn: str, event: Any, inv: Invocation | None, request_id: str) -> None:
    """The original event to the function's DeadLetterConfig target, with Lambda's message attributes."""
    message = str(inv.error) if inv is not None and inv.error is not None else "Event age exceeded"
    attributes = {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {"DataType": "String",
                         "StringValue": message.encode()[:_ERROR_MESSAGE_BYTES].decode(errors="ignore") or "-"},
    }
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    try:
        if service == "sqs":
            _sqs(broker, arn, json.dumps(event), attributes)
        elif service == "sns":
            _sns(arn, json.dumps(event), attributes)
        else:
            raise DestinationError(f"{arn}: a dead-letter queue must be an SQS queue or an SNS topic")
    except DestinationError:
        raise
    except Exception as exc:  # a client error, a missing function: said, never lost silently
        raise DestinationError(f"{arn}: {exc}") from exc
