"""SNS, EventBridge and Scheduler delivered for real: tests/apps/events under a real `lightbox up` (its own
embedded Redis and moto server), driven by the calls a user's code makes (boto3 Publish and PutEvents
against the printed endpoint). Each event is checked against Powertools' parser models, and a message
no filter lets through is shown never to invoke: it is sent first, one worker runs deliveries in order,
and the function's only record is the one sent after it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis
import requests
from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    SnsModel,
    SnsNotificationModel,
    SqsModel,
)

from lightbox.testing import Lightbox
from lightbox.testing.up import UpProcess, start_up

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "apps" / "events" / "template.yaml"


class Shop:
    def __init__(self, up: UpProcess) -> None:
        self.up = up
        state = json.loads((up.data_dir / "state.json").read_text())
        self.endpoint = state["s3_endpoint"]
        self.redis = redis.Redis.from_url(state["redis_url"])
        kwargs: dict[str, Any] = {"endpoint_url": self.endpoint, "region_name": "us-east-1",
                                  "aws_access_key_id": "test", "aws_secret_access_key": "test"}
        self.sns, self.events = boto3.client("sns", **kwargs), boto3.client("events", **kwargs)
        self.topic = self.sns.create_topic(Name="orders")["TopicArn"]  # exists: its ARN
        # As a provisioner makes them on the moto server: moto must not try to deliver to these itself.
        self.sns.subscribe(TopicArn=self.topic, Protocol="lambda",
                           Endpoint="arn:aws:lambda:us-east-1:000000000000:function:big-orders")
        self.sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:shipping")

    def records(self, function: str, n: int = 1, timeout: float = 30.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            items = [json.loads(x) for x in self.redis.lrange(f"apps:events:{function}", 0, -1)]
            if len(items) >= n or time.monotonic() > deadline:
                return items
            time.sleep(0.05)

    def received(self, function: str, n: int, timeout: float = 30.0) -> list[Any]:
        """The SQS records a queue-fed function got, across invocations: Lambda's poller gathers
        messages waiting together into one batch."""
        deadline = time.monotonic() + timeout
        while True:
            records = [r for e in self.records(function, 0) for r in e["Records"]]
            if len(records) >= n or time.monotonic() > deadline:
                return records
            time.sleep(0.05)

    def publish(self, message: str, **attributes: str | int) -> str:
        attrs = {k: {"DataType": "Number" if isinstance(v, int) else "String", "StringValue": str(v)}
                 for k, v in attributes.items()}
        return str(self.sns.publish(TopicArn=self.topic, Message=message, MessageAttributes=attrs)["MessageId"])

    def put(self, bus: str, source: str, detail_type: str, detail: dict[str, Any]) -> str:
        out = self.events.put_events(Entries=[{"EventBusName": bus, "Source": source, "DetailType": detail_type,
                                               "Detail": json.dumps(detail), "Resources": ["arn:aws:x:::y"]}])
        assert out["FailedEntryCount"] == 0, out
        return str(out["Entries"][0]["EventId"])


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    up = start_up(tmp_path_factory.mktemp("events"), ["-t", str(APP), "-w", "1"], cwd=ROOT)
    try:
        yield Shop(up)
    finally:
        assert up.stop() == 0, up.log_path.read_text()[-3000:]


@pytest.fixture(autouse=True)
def clean(shop: Shop) -> None:
    for key in shop.redis.keys("apps:events:*"):
        shop.redis.delete(key)


def test_every_source_of_the_app_is_emulated(shop: Shop) -> None:
    assert "not emulated" not in shop.up.log_path.read_text()


def test_sns_to_a_function_through_an_attribute_filter_policy(shop: Shop) -> None:
    shop.publish('{"kind": "other"}', size="big", amount=5)  # amount below the policy's >= 100
    shop.publish('{"kind": "other"}', size="small", amount=500)
    message_id = shop.publish('{"kind": "other", "n": 1}', size="big", amount=150)
    assert len(shop.received("audit", 3)) == 3  # every message was published and delivered to someone
    [event] = shop.records("big-orders")
    record = SnsModel.model_validate(event).Records[0]
    assert record.Sns.MessageId == message_id and record.Sns.TopicArn == shop.topic
    assert record.Sns.Message == '{"kind": "other", "n": 1}' and record.Sns.Subject is None
    assert {k: (v.Type, v.Value) for k, v in (record.Sns.MessageAttributes or {}).items()} == {
        "size": ("String", "big"), "amount": ("Number", "150")}
    assert record.EventSubscriptionArn.startswith(f"{shop.topic}:")
    assert shop.records("big-orders") == [event]  # still one: the two filtered out never invoked it


def test_sns_raw_delivery_to_a_queue_through_a_body_filter_policy_feeds_its_function(shop: Shop) -> None:
    shop.publish('{"kind": "return"}')
    shop.publish("not JSON at all")
    message_id = shop.publish('{"kind": "ship-express", "to": "Oslo"}', size="big")
    assert len(shop.received("audit", 3)) == 3
    [event] = shop.records("shipper")
    record = SqsModel.model_validate(event).Records[0]
    assert record.body == '{"kind": "ship-express", "to": "Oslo"}'  # raw: the message itself
    assert record.messageAttributes["size"].stringValue == "big"
    assert record.eventSourceARN.endswith(":shipping")
    assert message_id not in record.body
    assert shop.records("shipper") == [event]


def test_sns_envelope_to_the_queue_sam_makes_for_sqs_subscription(shop: Shop) -> None:
    message_id = shop.sns.publish(TopicArn=shop.topic, Message="hello", Subject="greeting")["MessageId"]
    [event] = shop.records("audit")
    record = SqsModel.model_validate(event).Records[0]
    envelope = SnsNotificationModel.model_validate_json(record.body)
    assert (envelope.MessageId, envelope.Message, envelope.Subject) == (message_id, "hello", "greeting")
    assert envelope.TopicArn == shop.topic and envelope.Type == "Notification"
    assert "SigningCertURL" in json.loads(record.body)  # SNS's spelling in an SQS message


def test_eventbridge_custom_bus_pattern_and_input_transformer(shop: Shop) -> None:
    shop.put("shop", "shop.orders", "OrderPaid", {"id": "o-0", "amount": 0, "currency": "EUR"})  # amount > 0
    shop.put("shop", "shop.orders", "OrderPaid", {"id": "o-x", "amount": 9, "currency": "XXX"})  # anything-but
    shop.put("default", "shop.orders", "OrderPaid", {"id": "o-d", "amount": 9, "currency": "EUR"})  # other bus
    shop.put("shop", "shop.orders", "OrderPaid", {"id": "o-1", "amount": 12.5, "currency": "EUR"})
    assert shop.records("notifier") == [
        {"order": "o-1", "amount": 12.5, "text": "order o-1 paid 12.5", "rule": "NotifierPaid"}]
    assert len(shop.records("watcher")) == 1  # the default bus's rule saw its one event


def test_eventbridge_default_bus_delivers_the_event_as_eventbridge_shapes_it(shop: Shop) -> None:
    shop.put("default", "other.app", "Ping", {"n": 0})  # source does not start with shop.
    event_id = shop.put("default", "shop.web", "CartUpdated", {"items": [{"sku": "a"}]})
    [event] = shop.records("watcher")
    model = EventBridgeModel.model_validate(event)
    assert (model.id, model.source, model.detail_type) == (event_id, "shop.web", "CartUpdated")
    assert model.detail == {"items": [{"sku": "a"}]} and model.resources == ["arn:aws:x:::y"]
    assert (model.region, model.version) == ("us-east-1", "0")


def test_lightbox_event_put_reaches_the_rules(shop: Shop) -> None:
    out = subprocess.run([sys.executable, "-m", "lightbox", "event", "put", "--source", "shop.cli",
                          "--detail-type", "Manual", "--detail", '{"by": "hand"}'],
                         cwd=ROOT, env={"LIGHTBOX_DATA_DIR": str(shop.up.data_dir), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    [event] = shop.records("watcher")
    assert event["source"] == "shop.cli" and event["detail"] == {"by": "hand"}
    assert event["id"] in out.stdout


def test_a_scheduler_schedule_sends_its_input_as_it_is(shop: Shop) -> None:
    resp = requests.post(f"{shop.up.url}/_lightbox/schedules/Reports:Nightly", timeout=10)
    assert resp.status_code == 202, resp.text
    assert shop.records("reports") == [{"report": "nightly"}]


def test_publish_batch_with_a_message_per_protocol(shop: Shop) -> None:
    big = {"size": {"DataType": "String", "StringValue": "big"}, "amount": {"DataType": "Number", "StringValue": "100"}}
    out = shop.sns.publish_batch(TopicArn=shop.topic, PublishBatchRequestEntries=[
        {"Id": "a", "Message": json.dumps({"default": "for all", "lambda": "for functions"}),
         "MessageStructure": "json", "MessageAttributes": big},
        {"Id": "b", "Message": '{"kind": "ship-batch"}'}])
    assert not out.get("Failed"), out
    audited = SqsModel.model_validate({"Records": shop.received("audit", 2)}).Records
    assert sorted(json.loads(r.body)["Message"] for r in audited) == [
        "for all", '{"kind": "ship-batch"}']
    [big_event] = shop.records("big-orders")
    assert SnsModel.model_validate(big_event).Records[0].Sns.Message == "for functions"
    [shipped] = shop.records("shipper")
    assert SqsModel.model_validate(shipped).Records[0].body == '{"kind": "ship-batch"}'


@pytest.mark.lightbox_template("tests/apps/events/template.yaml")
def test_the_pytest_fixture_publishes_and_puts_through_the_same_deliveries(lightbox: Lightbox) -> None:
    lightbox.sns.publish("orders", "small", attributes={"size": "small", "amount": 500})
    lightbox.sns.publish("orders", {"kind": "ship-now"}, subject="s", attributes={"size": "big", "amount": 500})
    [big] = lightbox.calls("BigOrders")
    sns = SnsModel.model_validate(big.event).Records[0].Sns
    assert (sns.Message, sns.Subject, big.trigger) == ('{"kind": "ship-now"}', "s", "sns:Big")
    audited = [r for call in lightbox.calls("Audit") for r in call.event["Records"]]  # batches, as Lambda gathers
    assert len(audited) == 2 and len(lightbox.calls("Shipper")) == 1
    event_id = lightbox.events.put("shop.orders", "OrderPaid", {"id": "o-9", "amount": 3, "currency": "EUR"},
                                   bus_name="shop")
    assert [c.event for c in lightbox.calls("Notifier")] == [
        {"order": "o-9", "amount": 3, "text": "order o-9 paid 3", "rule": "NotifierPaid"}]
    assert lightbox.calls("Watcher") == []  # its rule is on the default bus
    lightbox.events.put("shop.web", "Ping")
    [watched] = lightbox.calls("Watcher")
    assert EventBridgeModel.model_validate(watched.event).id != event_id


@pytest.mark.lightbox_template("tests/apps/events/template.yaml")
def test_a_bucket_notifies_its_topic_and_the_topic_its_subscribers(lightbox: Lightbox) -> None:
    lightbox.s3.put("events-app-uploads", "other/a.txt", b"x")  # outside the notification's prefix
    lightbox.s3.put("events-app-uploads", "orders/1.json", b'{"n": 1}')
    [audit] = lightbox.calls("Audit")
    envelope = SnsNotificationModel.model_validate_json(SqsModel.model_validate(audit.event).Records[0].body)
    assert envelope.Subject == "Amazon S3 Notification"
    record = json.loads(str(envelope.Message))["Records"][0]
    assert record["eventSource"] == "aws:s3" and record["s3"]["object"]["key"] == "orders/1.json"
    assert lightbox.calls("BigOrders") == [] and lightbox.calls("Shipper") == []  # their filters keep it out
