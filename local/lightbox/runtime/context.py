"""LambdaContext: what Lambda passes as `context`, with AWS's attribute names."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable


class LambdaContext:
    """What Lambda passes as `context`; the clock is injectable so tests need not sleep."""

    def __init__(self, function_name: str, timeout: float, memory_size: int, region: str, account_id: str,
                 request_id: str | None = None, clock: Callable[[], float] = time.monotonic,
                 tenant_id: str | None = None) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.memory_limit_in_mb = memory_size
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/[$LATEST]{self.aws_request_id.replace('-', '')}"
        self.identity = None
        self.client_context = None
        self.tenant_id = tenant_id  # TenancyConfig PER_TENANT: the invocation's tenant (awslambdaric's name)
        self._clock = clock
        self._deadline = clock() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock()) * 1000))
