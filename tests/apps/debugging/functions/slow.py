"""Works longer than its function's Timeout (1 s): only a suspended Timeout lets it answer."""

import json
import os
import time

WORK_SECONDS = 1.3


def handler(event, context):
    time.sleep(WORK_SECONDS)
    for record in event.get("Records", []):  # from the queue
        with open(os.environ["RECEIVED_FILE"], "a") as out:
            out.write(record["body"] + "\n")
    return {"statusCode": 200, "body": json.dumps({"slept": WORK_SECONDS})}
