"""`lightbox up --debug FUNCTION:PORT` on a real stack (tests/apps/debugging): the function's environment
waits under debugpy until a debugger attaches, its Timeout is suspended, and its queue invocations,
which a worker process takes, reach that same environment."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from app_stack import app_stack
from dap_client import attach, wait_listening

from lightbox.services.processes import ManagedProcess, free_port
from lightbox.stack.up import Stack

APP = Path(__file__).resolve().parents[1] / "apps" / "debugging" / "template.yaml"
pytest.importorskip("debugpy", reason="--debug runs Python functions under debugpy (pip install debugpy)")


@pytest.fixture(scope="module")
def debugged(redis_server: ManagedProcess, s3_server: ManagedProcess,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, int, Path]]:
    folder = tmp_path_factory.mktemp("debugging")
    received, port = folder / "received.txt", free_port()
    with app_stack(APP, redis_server, s3_server, 7, folder / "data", debug=f"SlowFunction:{port}",
                   parameter_overrides={"ReceivedFile": str(received)}) as started:
        yield started, port, received


def test_the_function_waits_for_an_attach_then_runs_past_its_timeout(debugged: tuple[Stack, int, Path]) -> None:
    stack, port, _ = debugged
    assert any("debugging SlowFunction" in line and f"127.0.0.1:{port}" in line and "Timeout is suspended" in line
               for line in stack.runtime.describe())
    answer: dict[str, Any] = {}
    call = threading.Thread(target=lambda: answer.update(resp=requests.get(f"{stack.url}/slow", timeout=120)))
    call.start()
    wait_listening(port)  # its environment started: debugpy holds the import until an attach
    # Another function is not held by the debugger.
    assert requests.get(f"{stack.url}/other", timeout=30).text == "other"
    assert call.is_alive() and not answer
    session = attach("127.0.0.1", port)
    try:
        call.join(120)
        resp = answer["resp"]
        # 1.3 s of work under a 1 s Timeout: answered, as the Timeout is suspended under the debugger.
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"slept": 1.3}
    finally:
        session.close()


def test_queue_invocations_from_a_worker_reach_the_debugged_environment(
        debugged: tuple[Stack, int, Path]) -> None:
    stack, port, received = debugged
    wait_listening(port)
    session = attach("127.0.0.1", port)  # a debugger may come and go: each attach is a new session
    sqs = boto3.client("sqs", endpoint_url=stack.settings.public_sqs_endpoint, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    url = sqs.get_queue_url(QueueName="JobsQueue")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="job-1")
    try:
        for _ in range(600):
            if received.exists() and "job-1" in received.read_text():
                break
            threading.Event().wait(0.1)
        assert received.read_text().splitlines() == ["job-1"]
        assert len(stack.workers) == 1 and stack.workers[0].poll() is None
    finally:
        session.close()
