"""Sign a request as botocore signs it, at a time of the caller's choosing (an expired request is
one signed 20 minutes ago): botocore's own SigV4 steps, only the clock is given."""

from __future__ import annotations

from datetime import UTC, datetime

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_AMZ_DATE = "%Y%m%dT%H%M%SZ"


def signed_headers(method: str, url: str, body: bytes, headers: dict[str, str], key: str, secret: str,
                   service: str, region: str = "us-east-1", when: datetime | None = None) -> dict[str, str]:
    signer = SigV4Auth(Credentials(key, secret), service, region)
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    request.context["timestamp"] = (when or datetime.now(UTC)).strftime(_AMZ_DATE)
    signer._modify_request_before_signing(request)  # what SigV4Auth.add_auth does after reading the clock
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    signer._inject_signature_to_request(request, signature)
    return dict(request.headers.items())


def sqs_send(endpoint: str, queue_url: str, body: str, key: str | None, secret: str = "",
             when: datetime | None = None) -> requests.Response:
    """SendMessage in the AWS JSON protocol, signed by `key`/`secret` at `when` (key None: unsigned)."""
    import json

    payload = json.dumps({"QueueUrl": queue_url, "MessageBody": body}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage"}
    if key is not None:
        headers = signed_headers("POST", endpoint, payload, headers, key, secret, "sqs", when=when)
    return requests.post(endpoint, data=payload, headers=headers, timeout=10)
