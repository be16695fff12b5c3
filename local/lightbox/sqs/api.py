"""The SQS producer API, in the AWS JSON 1.0 protocol that boto3 speaks, backed by RQ.

Functions send with plain boto3 (`AWS_ENDPOINT_URL_SQS` points here), so the same code
sends to real SQS on AWS. Consumer calls (ReceiveMessage, DeleteMessage) are not served:
the emulator itself is the consumer, as Lambda's event source mapping is on AWS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from lightbox import config
from lightbox.sqs.exceptions import SqsError
from lightbox.sqs.messages import attributes_md5, lambda_attributes, new_message
from lightbox.sqs.queues import Broker

_MAX_BATCH = 10  # SQS's own limits; a client that works here must work on AWS
_MAX_BODY = 256 * 1024


class SqsApi:
    def __init__(self, broker: Broker, base_url: Callable[[], str]) -> None:
        self.broker = broker
        self.base_url = base_url  # the URL clients reach this endpoint at

    def queue_name(self, url: str) -> str:
        name = url.rstrip("/").rsplit("/", 1)[-1]
        if name not in self.broker.queue_names():
            raise SqsError("QueueDoesNotExist", f"The specified queue {name} does not exist.",
                           "AWS.SimpleQueueService.NonExistentQueue")
        return name

    def _message(self, entry: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        body = entry.get("MessageBody")
        if not isinstance(body, str) or not body:
            raise SqsError("MissingParameter", "The request must contain the parameter MessageBody.",
                           "MissingParameter")
        if len(body.encode()) > _MAX_BODY:
            raise SqsError("InvalidParameterValue",
                           "One or more parameters are invalid. Reason: Message must be shorter than "
                           f"{_MAX_BODY} bytes.",
                           "InvalidParameterValue")
        attrs = entry.get("MessageAttributes") or {}
        msg = new_message(body, lambda_attributes(attrs), entry.get("MessageGroupId"))
        reply = {"MessageId": msg["messageId"], "MD5OfMessageBody": msg["md5OfBody"]}
        if attrs:
            reply["MD5OfMessageAttributes"] = attributes_md5(attrs)
        return msg, reply

    def send_message(self, req: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_name(req.get("QueueUrl", ""))
        msg, reply = self._message(req)
        self.broker.send(queue, [msg], int(req.get("DelaySeconds") or 0))
        return reply

    def send_message_batch(self, req: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_name(req.get("QueueUrl", ""))
        entries = req.get("Entries") or []
        if not entries:
            raise SqsError("EmptyBatchRequest",
                           "There should be at least one SendMessageBatchRequestEntry in the request.",
                           "AWS.SimpleQueueService.EmptyBatchRequest")
        if len(entries) > _MAX_BATCH:
            raise SqsError("TooManyEntriesInBatchRequest", f"Maximum number of entries per request are {_MAX_BATCH}.",
                           "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
        ok, failed, messages = [], [], []
        for entry in entries:
            try:
                msg, reply = self._message(entry)
            except SqsError as exc:
                failed.append({"Id": entry.get("Id"), "SenderFault": True, "Code": exc.code, "Message": str(exc)})
                continue
            messages.append(msg)
            ok.append({"Id": entry.get("Id"), **reply})
        if messages:
            self.broker.send(queue, messages, int(entries[0].get("DelaySeconds") or 0))
        return {"Successful": ok, "Failed": failed}

    def get_queue_url(self, req: dict[str, Any]) -> dict[str, Any]:
        name = self.queue_name(str(req.get("QueueName", "")))
        return {"QueueUrl": f"{self.base_url()}/{self.broker.template.account_id}/{name}"}

    def list_queues(self, req: dict[str, Any]) -> dict[str, Any]:
        prefix = str(req.get("QueueNamePrefix", ""))
        base = f"{self.base_url()}/{self.broker.template.account_id}"
        return {"QueueUrls": [f"{base}/{n}" for n in self.broker.queue_names() if n.startswith(prefix)]}

    def get_queue_attributes(self, req: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_name(req.get("QueueUrl", ""))
        depth = self.broker.depth(queue)
        t = self.broker.template
        return {"Attributes": {
            "QueueArn": f"arn:aws:sqs:{t.region}:{t.account_id}:{queue}",
            "ApproximateNumberOfMessages": str(depth["waiting"]),
            "ApproximateNumberOfMessagesNotVisible": str(depth["running"] + depth["retrying"]),
        }}


def blueprint(api: SqsApi) -> Blueprint:
    bp = Blueprint("sqs", __name__)
    operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "SendMessage": api.send_message, "SendMessageBatch": api.send_message_batch,
        "GetQueueUrl": api.get_queue_url, "ListQueues": api.list_queues,
        "GetQueueAttributes": api.get_queue_attributes,
    }

    @bp.post(config.SQS_PATH)
    @bp.post(f"{config.SQS_PATH}/<path:_queue>")
    def handle(_queue: str = "") -> Response:
        target = request.headers.get("X-Amz-Target", "")
        op = target.removeprefix("AmazonSQS.")
        try:
            if op not in operations:
                raise SqsError("UnsupportedOperation",
                               f"{op or 'this request'} is not served locally (served: {', '.join(operations)}); "
                               "this endpoint speaks the AWS JSON protocol of current SDKs",
                               "AWS.SimpleQueueService.UnsupportedOperation")
            body = operations[op](request.get_json(force=True, silent=True) or {})
            return Response(json.dumps(body), mimetype="application/x-amz-json-1.0")
        except SqsError as exc:
            resp = Response(json.dumps({"__type": f"com.amazonaws.sqs#{exc.code}", "message": str(exc)}),
                            status=exc.status, mimetype="application/x-amz-json-1.0")
            resp.headers["x-amzn-query-error"] = f"{exc.query_code};Sender"
            return resp

    return bp
