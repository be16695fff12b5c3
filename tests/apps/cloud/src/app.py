"""Reads a secret and a parameter when imported, as real functions do; each route makes one call."""

import json
import os

import boto3
from botocore.exceptions import ClientError

SECRET = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["SECRET_ARN"])["SecretString"])
GREETING = boto3.client("ssm").get_parameter(Name=os.environ["PARAMETER"])["Parameter"]["Value"]


def _reply(body):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def handler(event, context):
    action = event["pathParameters"]["action"]
    if action == "import-time":
        return _reply({"secret": SECRET, "greeting": GREETING})
    if action == "env":
        names = ["TABLE", "TABLE_ARN", "STREAM_ARN", "COUNTERS", "TOPIC_ARN", "KINESIS_ARN", "SECRET_ARN",
                 "DB_SECRET_ARN", "PARAMETER", "BUS_ARN", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CONFIG_FILE",
                 "AWS_SHARED_CREDENTIALS_FILE"]
        return _reply({name: os.environ.get(name) for name in names})
    if action == "calls":
        table = boto3.resource("dynamodb").Table(os.environ["TABLE"])
        table.put_item(Item={"pk": "order-1", "sk": "a", "status": "new"})
        topic = boto3.client("sns").publish(TopicArn=os.environ["TOPIC_ARN"], Message="hi")
        secret = boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["DB_SECRET_ARN"])
        return _reply({"item": table.get_item(Key={"pk": "order-1", "sk": "a"})["Item"],
                       "published": "MessageId" in topic, "db": json.loads(secret["SecretString"])})
    if action == "unemulated":
        key = boto3.Session().get_credentials().access_key
        try:
            boto3.client("translate").translate_text(Text="hola", SourceLanguageCode="es", TargetLanguageCode="en")
        except ClientError as exc:
            return _reply({"key": key, "code": exc.response["Error"]["Code"], "error": str(exc)})
        return _reply({"key": key, "code": None})
    return {"statusCode": 404, "body": action}
