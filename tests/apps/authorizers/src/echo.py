import json


def handler(event, context):
    """Answers with the event it got, so a test sees what the authorizer put in it."""
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
