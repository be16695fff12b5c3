"""Reports what this environment sees: its helper module, variables, /tmp and process."""

import json
import os
import tempfile

import helper

MARK_FILE = os.path.join(tempfile.gettempdir(), "mark")


def handler(event, context):
    seen_mark = os.path.exists(MARK_FILE)
    with open(MARK_FILE, "w") as f:
        f.write(os.environ["WHO"])
    os.environ["LAST_CALLER"] = os.environ["WHO"]
    info = {
        "helper": helper.NAME,
        "who": os.environ["WHO"],
        "pid": os.getpid(),
        "tmp": tempfile.gettempdir(),
        "seen_mark": seen_mark,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "client_custom": context.client_context.custom if context.client_context else None,
        "identity": context.identity.cognito_identity_id if context.identity else None,
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "LAMBDA_", "_HANDLER", "TZ"))
                and "SECRET" not in k},
    }
    print(f"hello from {os.environ['WHO']}")
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(info)}
