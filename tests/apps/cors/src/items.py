import json


def handler(event, context):
    path = event.get("rawPath") or event.get("path")
    if path.endswith("/fail"):
        raise RuntimeError("the function failed")
    # A CORS header of the function's own: HTTP APIs with CORS configured replace it, REST passes it on.
    return {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "https://own.example", "x-request-id": "r-1",
                                           "content-type": "application/json"},
            "body": json.dumps({"path": path})}
