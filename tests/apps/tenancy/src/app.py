"""Counts calls per execution environment: an environment shared between tenants would show it."""

import json
import os

calls = 0


def counter(event, context):
    global calls
    calls += 1
    return {"statusCode": 200, "body": json.dumps({
        "tenant_id": context.tenant_id, "calls_in_this_environment": calls, "pid": os.getpid()})}
