"""S3 -> SQS -> poller: AWS's own notification path, on the embedded S3 server.

The emulator configures each template bucket to notify one queue on the S3 server, then
long-polls that queue and hands each record to `s3_events.deliver`.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lightbox import config
from lightbox.s3 import notifications as s3_events
from lightbox.sqs.queues import Broker
from lightbox.template.model import S3Trigger, Template

log = logging.getLogger(__name__)


@functools.cache  # boto3 clients are thread-safe, and building one costs ~0.1 s (the test kit builds many)
def _clients(endpoint: str, region: str) -> tuple[Any, Any]:
    cfg = Config(retries={"max_attempts": 2}, connect_timeout=2, read_timeout=10)
    # A local server takes any credentials, but the SDK will not sign without some.
    key, secret = config.credentials()
    session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=region)
    return (session.client("s3", endpoint_url=endpoint, config=cfg),
            session.client("sqs", endpoint_url=endpoint, config=cfg))


def create_buckets(template: Template, endpoint: str) -> None:
    """The template's buckets with their CORS rules, as CloudFormation makes them (whatever delivers
    their events); a bucket that is there already is kept."""
    s3, _ = _clients(endpoint, template.region)
    for bucket, spec in template.buckets.items():
        try:
            s3.create_bucket(Bucket=bucket)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        if spec.cors_rules:  # the template's CorsConfiguration, as CloudFormation would apply it
            s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": list(spec.cors_rules)})


def configure(broker: Broker, endpoint: str) -> str:
    """Create the template's buckets and the notification queue they send to; return the queue URL."""
    s3, sqs = _clients(endpoint, broker.template.region)
    queue_url: str = sqs.create_queue(QueueName=config.BUCKET_EVENTS_QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    create_buckets(broker.template, endpoint)
    for bucket, spec in broker.template.buckets.items():
        events = sorted({e for f in broker.template.functions.values() for t in f.of_kind(S3Trigger)
                         if t.bucket == bucket for e in t.events} | spec.event_types)
        if events:
            s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
                "QueueConfigurations": [{"Id": "lightbox", "QueueArn": arn, "Events": events}]})
    # Stale records of an earlier run are not replayed. SQS allows one purge a minute; when a
    # second stack starts within it, leftovers are harmless (test events are skipped, stale
    # records reach handlers that must be idempotent anyway, as on AWS), so that refusal is not an error.
    try:
        sqs.purge_queue(QueueUrl=queue_url)
    except ClientError as exc:
        if "PurgeQueueInProgress" not in exc.response["Error"]["Code"]:
            raise
    return queue_url


class BucketPoller:
    def __init__(self, broker: Broker, endpoint: str, queue_url: str) -> None:
        self.broker = broker
        self.queue_url = queue_url
        _, self.sqs = _clients(endpoint, broker.template.region)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lightbox-bucket-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def poll_once(self, wait_seconds: int = 1) -> int:
        resp = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
        delivered = 0
        done: list[dict[str, str]] = []
        try:
            for msg in resp.get("Messages", []):
                body = json.loads(msg["Body"])
                if body.get("Event") != "s3:TestEvent":
                    delivered += s3_events.deliver(self.broker, body.get("Records") or [])
                done.append({"Id": str(len(done)), "ReceiptHandle": msg["ReceiptHandle"]})
        finally:
            # Deleted only once their invokes are queued in Redis, so a crash here redelivers; the
            # whole receive in one call, since every call waits its turn on the busy S3 server.
            if done:
                failed = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=done).get("Failed", [])
                if failed:  # they come back after the visibility timeout; handlers are idempotent
                    log.warning("bucket events: %d record(s) not deleted, will be delivered again: %s",
                                len(failed), failed)
        return delivered

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except (BotoCoreError, ClientError, OSError) as exc:
                if self._stop.is_set():  # the stack is stopping: its S3 server went first
                    return
                log.warning("bucket events: S3 server unreachable (%s); retrying", exc)
                self._stop.wait(1.0)
