"""What SNS delivers, in its shapes: the `Records[].Sns` event a function gets, the JSON envelope an
SQS subscriber gets as its message body, and the message alone with its attributes for raw delivery."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Published:
    """One message as published: what the moto server's front hands over (services/published.py)."""

    topic_arn: str
    message_id: str
    message: str
    timestamp: str  # 2019-01-02T12:45:07.000Z
    subject: str | None = None
    attributes: dict[str, dict[str, str]] | None = None  # name -> {"Type": ..., "Value": ...}
    structure: str | None = None  # "json": the message holds one text per protocol, "default" for the rest
    group_id: str | None = None  # MessageGroupId, on a FIFO topic: the FIFO queue subscribed keeps it

    @classmethod
    def from_hook(cls, topic_arn: str, m: dict[str, Any]) -> Published:
        return cls(topic_arn, m["MessageId"], m["Message"], m["Timestamp"], m.get("Subject"),
                   m.get("MessageAttributes") or None, m.get("MessageStructure"), m.get("MessageGroupId"))

    @property
    def region(self) -> str:
        return self.topic_arn.split(":")[3]

    def text_for(self, protocol: str) -> str:
        """The message a protocol gets: with MessageStructure json, its own entry or the default."""
        if self.structure != "json":
            return self.message
        texts = json.loads(self.message)
        return str(texts.get(protocol, texts.get("default", "")))


def subscription_arn(topic_arn: str, subscription: str) -> str:
    """A stable ARN for a template's subscription: the topic's ARN and a UUID named after it."""
    return f"{topic_arn}:{uuid.uuid5(uuid.NAMESPACE_URL, f'{topic_arn}/{subscription}')}"


def _signed(p: Published, protocol: str, sub_arn: str) -> dict[str, str]:
    """Signature fields in SNS's form. The signature is not a real one (nothing here holds SNS's key):
    code that verifies signatures against the certificate URL fails locally, as it should."""
    digest = hashlib.sha256(f"{p.message_id}{p.text_for(protocol)}".encode()).digest()
    cert = f"https://sns.{p.region}.amazonaws.com/SimpleNotificationService-{digest.hex()[:32]}.pem"
    unsubscribe = f"https://sns.{p.region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={sub_arn}"
    return {"SignatureVersion": "1", "Signature": base64.b64encode(digest * 8).decode(), "cert": cert,
            "unsubscribe": unsubscribe}


def lambda_event(p: Published, sub_arn: str) -> dict[str, Any]:
    """The event SNS invokes a subscribed function with: one record per message."""
    s = _signed(p, "lambda", sub_arn)
    return {"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": sub_arn,
        "Sns": {
            "Type": "Notification",
            "MessageId": p.message_id,
            "TopicArn": p.topic_arn,
            "Subject": p.subject,
            "Message": p.text_for("lambda"),
            "Timestamp": p.timestamp,
            "SignatureVersion": s["SignatureVersion"],
            "Signature": s["Signature"],
            "SigningCertUrl": s["cert"],
            "UnsubscribeUrl": s["unsubscribe"],
            "MessageAttributes": p.attributes or {},
        },
    }]}


def sqs_envelope(p: Published, sub_arn: str) -> str:
    """The body of the message an SQS subscriber gets without RawMessageDelivery (SNS spells the URLs
    `...URL` here, `...Url` in a function's event)."""
    s = _signed(p, "sqs", sub_arn)
    body: dict[str, Any] = {"Type": "Notification", "MessageId": p.message_id, "TopicArn": p.topic_arn}
    if p.subject is not None:
        body["Subject"] = p.subject
    body.update({"Message": p.text_for("sqs"), "Timestamp": p.timestamp, "SignatureVersion": s["SignatureVersion"],
                 "Signature": s["Signature"], "SigningCertURL": s["cert"], "UnsubscribeURL": s["unsubscribe"]})
    if p.attributes:
        body["MessageAttributes"] = p.attributes
    return json.dumps(body, indent=2)


def raw_attributes(p: Published) -> dict[str, dict[str, str]]:
    """With RawMessageDelivery the message's attributes become the SQS message's, in SQS's API shape."""
    out = {}
    for name, attr in (p.attributes or {}).items():
        kind = "BinaryValue" if attr["Type"].startswith("Binary") else "StringValue"
        out[name] = {"DataType": attr["Type"], kind: attr["Value"]}
    return out
