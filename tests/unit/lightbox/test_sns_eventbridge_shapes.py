"""SNS's and EventBridge's shapes and transforms, as pure code: the moto front's reading of Publish,
PublishBatch and PutEvents; SNS's event and envelope (checked against Powertools' models); filter
policies; InputPath and InputTransformer as AWS's docs render them."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any
from unittest.mock import create_autospec

import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SnsModel, SnsNotificationModel

from lightbox.eventbridge.bus import bus_event, bus_name
from lightbox.eventbridge.transform import json_path, render, target_input
from lightbox.services import published as published_module
from lightbox.services.published import Hook, PublishFront, events_payload, sns_payload
from lightbox.sns.delivery import passes
from lightbox.sns.notifications import Published, lambda_event, raw_attributes, sqs_envelope, subscription_arn
from lightbox.template.model import SnsTrigger

NOW = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"


def test_the_front_reads_publish_with_its_attributes_and_moto_s_message_id() -> None:
    form = {"Action": "Publish", "TopicArn": TOPIC, "Message": "hi", "Subject": "s",
            "MessageAttributes.entry.1.Name": "size", "MessageAttributes.entry.1.Value.DataType": "String",
            "MessageAttributes.entry.1.Value.StringValue": "big",
            "MessageAttributes.entry.2.Name": "n", "MessageAttributes.entry.2.Value.DataType": "Number",
            "MessageAttributes.entry.2.Value.StringValue": "3"}
    answer = (b'<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>'
              b"<MessageId>m-1</MessageId></PublishResult></PublishResponse>")
    assert sns_payload(form, answer, NOW) == {"topic_arn": TOPIC, "messages": [{
        "MessageId": "m-1", "Message": "hi", "Subject": "s", "MessageStructure": None, "MessageGroupId": None,
        "Timestamp":
        "2026-01-02T03:04:05.678Z", "MessageAttributes": {"size": {"Type": "String", "Value": "big"},
                                                          "n": {"Type": "Number", "Value": "3"}}}]}
    assert sns_payload({"Action": "Publish", "PhoneNumber": "+1555", "Message": "x"}, answer, NOW) is None
    fifo = sns_payload({**form, "TopicArn": f"{TOPIC}.fifo", "MessageGroupId": "g-1"}, answer, NOW)
    assert fifo is not None
    assert Published.from_hook(fifo["topic_arn"], fifo["messages"][0]).group_id == "g-1"


def test_the_front_reads_publish_batch_and_leaves_out_failed_entries() -> None:
    form = {"Action": "PublishBatch", "TopicArn": TOPIC,
            "PublishBatchRequestEntries.member.1.Id": "a", "PublishBatchRequestEntries.member.1.Message": "one",
            "PublishBatchRequestEntries.member.2.Id": "b", "PublishBatchRequestEntries.member.2.Message": "two",
            "PublishBatchRequestEntries.member.2.MessageAttributes.entry.1.Name": "k",
            "PublishBatchRequestEntries.member.2.MessageAttributes.entry.1.Value.DataType": "String",
            "PublishBatchRequestEntries.member.2.MessageAttributes.entry.1.Value.StringValue": "v"}
    answer = (b'<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishBatchResult>'
              b"<Successful><member><Id>b</Id><MessageId>m-b</MessageId></member></Successful>"
              b"<Failed><member><Id>a</Id><Code>X</Code></member></Failed></PublishBatchResult></PublishBatchResponse>")
    payload = sns_payload(form, answer, NOW)
    assert payload is not None
    assert [(m["MessageId"], m["Message"], m["MessageAttributes"]) for m in payload["messages"]] == [
        ("m-b", "two", {"k": {"Type": "String", "Value": "v"}})]


def test_the_front_reads_put_events_with_the_ids_moto_gave_and_the_time() -> None:
    req = {"Entries": [{"Source": "a", "DetailType": "T", "Detail": "{}"},
                       {"Source": "b", "DetailType": "T", "Detail": "{}", "Time": 1767225600}]}
    answer = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "X"}, {"EventId": "e-2"}]}
    assert events_payload(req, answer, NOW) == {"entries": [
        {"Source": "b", "DetailType": "T", "Detail": "{}", "EventId": "e-2", "Time": "2026-01-01T00:00:00Z"}]}
    assert events_payload({"Entries": [{"Source": "a"}]}, {"Entries": [{"ErrorCode": "X"}]}, NOW) is None


def published(**kw: Any) -> Published:
    return Published(**{"topic_arn": TOPIC, "message_id": "m-1", "message": '{"kind": "ship"}',
                        "timestamp": "2026-01-02T03:04:05.678Z", **kw})


def test_a_function_gets_sns_s_event() -> None:
    p = published(subject="s", attributes={"size": {"Type": "String", "Value": "big"}})
    event = lambda_event(p, subscription_arn(TOPIC, "Sub"))
    record = SnsModel.model_validate(event).Records[0]
    assert record.Sns.Message == '{"kind": "ship"}' and record.Sns.Subject == "s"
    assert record.Sns.MessageAttributes is not None and record.Sns.MessageAttributes["size"].Value == "big"
    assert record.EventSubscriptionArn == subscription_arn(TOPIC, "Sub") != subscription_arn(TOPIC, "Other")
    sns = event["Records"][0]["Sns"]
    assert "SigningCertUrl" in sns and "UnsubscribeUrl" in sns  # Lambda's spelling
    bare = lambda_event(published(), "arn")["Records"][0]["Sns"]
    assert bare["Subject"] is None and bare["MessageAttributes"] == {}


def test_a_queue_gets_sns_s_envelope_or_with_raw_delivery_the_message_and_its_attributes() -> None:
    p = published(attributes={"n": {"Type": "Number", "Value": "3"}, "b": {"Type": "Binary", "Value": "AAE="}})
    envelope = json.loads(sqs_envelope(p, "arn"))
    assert "SigningCertURL" in envelope and "Subject" not in envelope  # (the model renames it in place)
    assert SnsNotificationModel.model_validate(envelope).Message == '{"kind": "ship"}'
    assert raw_attributes(p) == {"n": {"DataType": "Number", "StringValue": "3"},
                                 "b": {"DataType": "Binary", "BinaryValue": "AAE="}}


def test_message_structure_json_gives_each_protocol_its_text() -> None:
    p = published(message='{"default": "d", "lambda": "l"}', structure="json")
    assert (p.text_for("lambda"), p.text_for("sqs")) == ("l", "d")


@pytest.mark.parametrize(("policy", "scope", "attributes", "expected"), [
    ({"size": ["big"]}, "MessageAttributes", {"size": {"Type": "String", "Value": "big"}}, True),
    ({"size": ["big"]}, "MessageAttributes", None, False),
    ({"n": [{"numeric": [">", 10]}]}, "MessageAttributes", {"n": {"Type": "Number", "Value": "5"}}, False),
    ({"kind": [{"prefix": "sh"}]}, "MessageBody", None, True),
    ({"kind": [{"anything-but": ["ship"]}]}, "MessageBody", None, False),
    (None, "MessageAttributes", None, True),
])
def test_filter_policies_are_sns_s_dialect(policy: dict[str, Any] | None, scope: str,
                                           attributes: dict[str, Any] | None, expected: bool) -> None:
    sub = SnsTrigger("orders", "E", policy, scope)
    assert passes(sub, published(attributes=attributes), "lambda") is expected


EVENT = bus_event({"EventId": "e-1", "Source": "aws.ec2", "DetailType": "EC2 Instance State-change Notification",
                   "Detail": json.dumps({"instance-id": "i-0123456789", "state": "RUNNING",
                                         "items": [{"n": 1}, {"n": 2}]}),
                   "Time": "2026-01-02T03:04:05Z", "Resources": ["arn:aws:ec2:r"]}, "us-east-1", "000000000000")


def test_the_event_a_bus_delivers() -> None:
    model = EventBridgeModel.model_validate(EVENT)
    assert (model.id, model.source, model.account, model.resources) == ("e-1", "aws.ec2", "000000000000",
                                                                         ["arn:aws:ec2:r"])
    assert bus_name(None) == "default" and bus_name("arn:aws:events:us-east-1:1:event-bus/shop") == "shop"


def test_json_paths() -> None:
    assert json_path(EVENT, "$") == EVENT
    assert json_path(EVENT, "$.detail.state") == "RUNNING"
    assert json_path(EVENT, "$.detail['instance-id']") == "i-0123456789"
    assert json_path(EVENT, "$.detail.items[1].n") == 2
    assert json_path(EVENT, "$.detail.nothing.here") is None
    with pytest.raises(ValueError, match="starts with"):
        json_path(EVENT, "detail")


def test_input_and_input_path() -> None:
    assert target_input(EVENT, "arn", "r", input='{"fixed": true}') == '{"fixed": true}'
    assert json.loads(target_input(EVENT, "arn", "r", input_path="$.detail.items")) == [{"n": 1}, {"n": 2}]
    assert json.loads(target_input(EVENT, "arn", "r")) == EVENT


PATHS = {"instance": "$.detail.instance-id", "state": "$.detail.state", "items": "$.detail.items"}


@pytest.mark.parametrize(("template", "expected"), [
    # AWS's docs' examples (Amazon EventBridge User Guide, "Transforming input")
    ('"<instance> is in state <state>"', '"i-0123456789 is in state RUNNING"'),
    ('{"instance": <instance>, "state": [9, <state>, true], "Transformed": "Yes"}',
     '{"instance": "i-0123456789", "state": [9, "RUNNING", true], "Transformed": "Yes"}'),
    ('{"message": "instance <instance> is in <state>"}', '{"message": "instance i-0123456789 is in RUNNING"}'),
    ("<instance> is in state <state>", "i-0123456789 is in state RUNNING"),
    ('{"items": <items>, "quoted": "<items>"}', '{"items": [{"n": 1}, {"n": 2}], "quoted": "[{\\"n\\": 1}, '
                                                '{\\"n\\": 2}]"}'),
    ('{"rule": "<aws.events.rule-name>", "arn": <aws.events.rule-arn>, "at": "<aws.events.event.ingestion-time>"}',
     '{"rule": "r", "arn": "arn:r", "at": "2026-01-02T03:04:05Z"}'),
    ('{"unknown": "<nope>"}', '{"unknown": "<nope>"}'),
])
def test_input_transformer_renders_as_eventbridge_does(template: str, expected: str) -> None:
    out = target_input(EVENT, "arn:r", "r", input_paths=PATHS, input_template=template)
    assert out == expected
    if expected.startswith(("{", '"')):
        json.loads(out)


def test_the_whole_event_in_a_template() -> None:
    out = json.loads(render('{"original": <aws.events.event>}', {"aws.events.event": EVENT}))
    assert out == {"original": EVENT}


def _moto(status: str, body: bytes) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        assert environ["wsgi.input"].read() == environ["lightbox.sent"]  # moto still reads the whole body
        start_response(status, [("Content-Type", "application/json")])
        return [body]
    return app


def _call(front: PublishFront, body: bytes, target: str = "AWSEvents.PutEvents") -> tuple[list[str], bytes]:
    seen: list[str] = []
    environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
               "HTTP_X_AMZ_TARGET": target, "lightbox.sent": body}
    out = b"".join(front(environ, lambda status, headers, exc_info=None: seen.append(status)))
    return seen, out


@pytest.mark.parametrize(("status", "body", "target", "posted"), [
    ("200 OK", b'{"Entries": [{"Source": "a", "DetailType": "T", "Detail": "{}"}]}', "AWSEvents.PutEvents", True),
    ("400 Bad Request", b'{"Entries": [{"Source": "a"}]}', "AWSEvents.PutEvents", False),  # refused by moto
    ("400 Bad Request", b"{not json", "AWSEvents.PutEvents", False),  # moto answers it, the front stays out
    ("200 OK", b'{"Name": "r"}', "AWSEvents.PutRule", False),
])
def test_the_front_hands_over_only_what_moto_accepted(monkeypatch: pytest.MonkeyPatch, status: str, body: bytes,
                                                      target: str, posted: bool) -> None:
    sent = create_autospec(published_module.post)
    monkeypatch.setattr(published_module, "post", sent)
    monkeypatch.setattr(Hook, "url", "http://127.0.0.1:1/_lightbox/published")
    answer = b'{"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}'
    seen, out = _call(PublishFront(_moto(status, answer), "events"), body, target)
    assert seen == [status] and out == answer  # moto's answer, untouched
    assert sent.called is posted
    if posted:
        url, payload = sent.call_args.args
        assert url.endswith("/_lightbox/published/events") and payload["entries"][0]["EventId"] == "e-1"


def test_the_front_answers_even_when_the_emulator_is_not_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Hook, "url", "http://127.0.0.1:1/_lightbox/published")  # nothing listens on port 1
    answer = b'{"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}'
    body = b'{"Entries": [{"Source": "a", "DetailType": "T", "Detail": "{}"}]}'
    seen, out = _call(PublishFront(_moto("200 OK", answer), "events"), body)
    assert seen == ["200 OK"] and out == answer
