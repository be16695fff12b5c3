from __future__ import annotations

import os
import time

from samplelib import record


def handler(event, context):
    """Fails the messages whose body contains 'fail'; sleeps on 'sleep' (to be killed mid-job)."""
    failures = []
    for rec in event["Records"]:
        body = rec["body"]
        record("sqs", {"body": body, "receive_count": int(rec["attributes"]["ApproximateReceiveCount"]),
                       "pid": os.getpid(), "ppid": os.getppid(), "source": rec["eventSourceARN"],
                       "batch": len(event["Records"])})
        if body.startswith("sleep"):
            time.sleep(float(body.split(":")[1]))
        if "fail" in body:
            failures.append({"itemIdentifier": rec["messageId"]})
    return {"batchItemFailures": failures}
