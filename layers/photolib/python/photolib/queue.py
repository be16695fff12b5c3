"""Queues: send a message with plain boto3 SQS, and process an SQS-triggered batch.

Locally AWS_ENDPOINT_URL_SQS points boto3 at the emulator (or moto); on AWS it is unset.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from photolib.config import Settings, load_settings
from photolib.models import SQSEvent, SQSRecord
from photolib.storage import _client, aws_call

log = logging.getLogger(__name__)


def sqs_client(settings: Settings) -> Any:
    return _client("sqs", settings.aws_endpoint_url_sqs, settings.aws_region)


@aws_call
def _send(client: Any, queue_url: str, body: str) -> str:
    return str(client.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"])


def send(queue_url: str, message: BaseModel, *, settings: Settings | None = None, client: Any = None) -> str:
    """Send one message (JSON of the model); returns its MessageId. TransientError when SQS is down."""
    client = client or sqs_client(settings or load_settings())
    return _send(client, queue_url, message.model_dump_json())


_IN_QUEUE = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed")


@aws_call
def _attributes(client: Any, queue_url: str) -> dict[str, str]:
    return dict(client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(_IN_QUEUE))["Attributes"])


def backlog(queue_url: str, *, client: Any) -> int:
    """Messages in the queue: waiting, being handled (or waiting out a failed receive) and delayed."""
    attributes = _attributes(client, queue_url)
    return sum(int(attributes.get(name, 0)) for name in _IN_QUEUE)


def process_batch(event: SQSEvent, handle: Callable[[SQSRecord], None]) -> dict[str, list[dict[str, str]]]:
    """Run `handle` on each record; the ones that raised are reported in batchItemFailures so only
    they return to the queue (the function's FunctionResponseTypes is ReportBatchItemFailures)."""
    failures: list[dict[str, str]] = []
    for record in event.Records:
        try:
            handle(record)
        except Exception:
            log.exception("message %s failed; it will be retried", record.messageId)
            failures.append({"itemIdentifier": record.messageId})
    return {"batchItemFailures": failures}
