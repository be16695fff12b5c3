import json

import boto3


def handler(event, context):
    # Plain boto3, as on AWS: the endpoint comes from AWS_ENDPOINT_URL_LAMBDA.
    client = boto3.client("lambda")
    resp = client.invoke(FunctionName=event["target"], Payload=json.dumps(event["payload"]).encode())
    return {"status": resp["StatusCode"], "error": resp.get("FunctionError"),
            "payload": json.loads(resp["Payload"].read())}
