"""The sample SAM app (tests/apps/sample) running on the emulator against real Redis and S3 servers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from app_stack import app_stack

from lightbox.services.processes import ManagedProcess
from lightbox.stack.up import Stack

SAMPLE = Path(__file__).resolve().parents[1] / "apps" / "sample" / "template.yaml"


@pytest.fixture(scope="module")
def sample_stack(redis_server: ManagedProcess, s3_server: ManagedProcess,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Database 1 is the stack's own, so tests that flush database 0 do not pull it from under the workers.
    with app_stack(SAMPLE, redis_server, s3_server, 1, tmp_path_factory.mktemp("lightbox"), bucket_events="poll",
                   retry_base=0.2, webhook_token="sekrit") as started:
        yield started


@pytest.fixture
def recorded(sample_stack: Stack) -> Iterator[Callable[..., list[dict[str, Any]]]]:
    """wait for what the sample functions recorded in Redis: recorded("sqs", n=3)."""
    conn = sample_stack.connection
    for kind in ("s3", "sqs", "cron", "inbox"):
        conn.delete(f"sample:{kind}")

    def wait(kind: str, n: int = 1, timeout: float = 20.0, settle: float = 0.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            items = [json.loads(x) for x in conn.lrange(f"sample:{kind}", 0, -1)]
            if len(items) >= n or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        if settle:  # give anything unexpected time to show up too
            time.sleep(settle)
            items = [json.loads(x) for x in conn.lrange(f"sample:{kind}", 0, -1)]
        return items

    yield wait
