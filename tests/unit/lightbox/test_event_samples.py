"""`lightbox event generate KIND`: every sample in its AWS shape, checked against Powertools' parser models."""

from __future__ import annotations

import base64

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
    DynamoDBStreamModel,
    EventBridgeModel,
    KinesisDataStreamModel,
    LambdaFunctionUrlModel,
    S3Model,
    SnsModel,
    SqsModel,
)
from pydantic import BaseModel

from lightbox import samples
from lightbox.cli import parser


def generate(*argv: str) -> dict:  # type: ignore[type-arg]
    return samples.generate(parser().parse_args(["event", "generate", *argv]))


@pytest.mark.parametrize(("kind", "model"), [
    ("s3-put", S3Model), ("sqs", SqsModel), ("sqs-receive-message", SqsModel), ("http", APIGatewayProxyEventV2Model),
    ("http-api-proxy", APIGatewayProxyEventV2Model), ("apigateway-http-api-proxy", APIGatewayProxyEventV2Model),
    ("apigateway-aws-proxy", APIGatewayProxyEventModel), ("function-url", LambdaFunctionUrlModel),
    ("schedule", EventBridgeModel), ("cloudwatch-scheduled-event", EventBridgeModel), ("sns", SnsModel),
    ("sns-notification", SnsModel), ("eventbridge", EventBridgeModel), ("dynamodb-update", DynamoDBStreamModel),
    ("kinesis", KinesisDataStreamModel), ("kinesis-get-records", KinesisDataStreamModel),
])
def test_every_kind_is_aws_shaped(kind: str, model: type[BaseModel]) -> None:
    model.model_validate(generate(kind))


def test_every_kind_is_tested() -> None:
    assert set(samples.KINDS) | set(samples.ALIASES) == {
        "s3-put", "sqs", "sqs-receive-message", "http", "http-api-proxy", "apigateway-http-api-proxy",
        "apigateway-aws-proxy", "function-url", "lambda-function-url", "schedule", "cloudwatch-scheduled-event",
        "sns", "sns-notification", "eventbridge", "eventbridge-custom", "dynamodb-update", "kinesis",
        "kinesis-get-records"}


def test_options_shape_the_samples() -> None:
    sns = SnsModel.model_validate(generate("sns", "--body", "hi", "--topic", "orders")).Records[0].Sns
    assert sns.Message == "hi" and sns.TopicArn.endswith(":orders")
    ev = EventBridgeModel.model_validate(generate("eventbridge", "--source", "shop", "--detail-type", "Paid",
                                                  "--detail", '{"n": 1}'))
    assert (ev.source, ev.detail_type, ev.detail) == ("shop", "Paid", {"n": 1})
    stream = DynamoDBStreamModel.model_validate(generate("dynamodb-update", "--table", "T"))
    assert [r.eventName for r in stream.Records] == ["INSERT", "MODIFY", "REMOVE"]
    assert stream.Records[0].eventSourceARN.split("/")[1] == "T"
    kinesis = generate("kinesis", "--body", "data!", "--stream", "s")
    assert base64.b64decode(kinesis["Records"][0]["kinesis"]["data"]) == b"data!"
    url = LambdaFunctionUrlModel.model_validate(generate("function-url", "--method", "POST", "--path", "/x"))
    assert url.requestContext.domainName.endswith(".lambda-url.us-east-1.on.aws") and url.rawPath == "/x"
