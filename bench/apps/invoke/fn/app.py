"""The trivial handler every HTTP target of bench_http_invoke.py runs: lightbox up, bare Flask, serverless-offline."""

import json


def ping(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps({"pong": True})}
