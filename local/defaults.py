"""Emulator defaults, each with the reason it has that value."""

from __future__ import annotations

# SAM CLI serves `sam local start-api` on 3000; users' scripts and docs expect it.
HOST = "127.0.0.1"
PORT = 3000
# The emulator serves the SQS producer API under this path of its own port.
SQS_PATH = "/_lightbox/sqs"
SQS_ENDPOINT = f"http://{HOST}:{PORT}{SQS_PATH}"
# moto and LocalStack use these; any value works as long as ARNs and URLs agree.
REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
# Lambda's own defaults when a template omits them.
FUNCTION_TIMEOUT = 3.0
VISIBILITY_TIMEOUT = 30
SQS_BATCH_SIZE = 10
# S3 -> Lambda and EventBridge -> Lambda are asynchronous invokes: Lambda retries twice.
ASYNC_RETRIES = 2
ASYNC_QUEUE = "lightbox-async"
# First retry delay for a failed queue message; doubles each attempt (SQS has no backoff of its
# own, it waits VisibilityTimeout, which is too slow to develop against).
RETRY_BASE_SECONDS = 1.0
# A worker killed mid-job leaves it "started"; after this grace past its timeout another
# worker's maintenance puts it back on the queue.
ABANDONED_GRACE_SECONDS = 5
MAINTENANCE_INTERVAL_SECONDS = 5
# Hot reload checks source mtimes at most this often, so a busy function pays almost nothing.
RELOAD_CHECK_SECONDS = 0.5
# A warm sandbox thread idle this long ends, as Lambda reclaims an idle execution environment.
SANDBOX_IDLE_SECONDS = 300.0
# Bucket-notification queue the emulator creates on the embedded S3 server.
BUCKET_EVENTS_QUEUE = "lightbox-bucket-events"
