import json
import os
import urllib.request


def echo(event, context):
    return {"statusCode": 201, "headers": {"x-echo": "yes", "content-type": "application/json"},
            "body": json.dumps(event)}


def ticker(event, context):
    """A streamed answer: the body is produced chunk by chunk."""
    n = int((event.get("queryStringParameters") or {}).get("n", "3"))

    def chunks():
        for i in range(n):
            yield f"tick {i}\n"

    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": chunks()}


def caller(event, context):
    """Calls the Echo function through its URL, as a function that got it from !GetAtt would."""
    url = os.environ["ECHO_URL"]
    with urllib.request.urlopen(url + "from-caller", timeout=5) as resp:
        return {"url": url, "status": resp.status, "path": json.loads(resp.read())["rawPath"]}
