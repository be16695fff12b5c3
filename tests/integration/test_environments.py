"""Execution environments with real processes: every function in processes of its own, driven
through the Runtime API; faults stay in their environment (tests/apps/environments)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from lightbox.config import Settings
from lightbox.exceptions import HandlerNotFound, Throttled
from lightbox.runtime.environments.pool import Limits
from lightbox.runtime.environments.runtime import ProcessRuntime
from lightbox.runtime.invoke import Invocation, build_runtime
from lightbox.template.loader import load_for
from lightbox.testing.up import UpProcess, start_up

APP = Path(__file__).resolve().parents[1] / "apps" / "environments"


def until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Wait for an event (a process ending, a pool filling); fail with what was last seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {check}")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"  # a zombie has ended; only its exit status is left
    except OSError:
        return False


def body(inv: Invocation) -> dict[str, Any]:
    assert inv.ok, inv.error
    return dict(json.loads(inv.result["body"]))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(template=APP / "template.yaml", data_dir=tmp_path / "data")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[ProcessRuntime]:
    rt = build_runtime(settings)
    assert isinstance(rt, ProcessRuntime)
    yield rt
    rt.close()


def test_two_functions_each_get_their_own_helper_module(runtime: ProcessRuntime) -> None:
    alpha, beta = body(runtime.invoke("AlphaFunction", {})), body(runtime.invoke("BetaFunction", {}))
    assert alpha["helper"] == "alpha's helper" and beta["helper"] == "beta's helper"
    assert alpha["pid"] != beta["pid"] != os.getpid()


def test_an_environment_stays_warm_and_keeps_its_own_variables_and_tmp(runtime: ProcessRuntime) -> None:
    first, second = body(runtime.invoke("AlphaFunction", {})), body(runtime.invoke("AlphaFunction", {}))
    beta = body(runtime.invoke("BetaFunction", {}))
    assert second["pid"] == first["pid"]  # warm: the same process
    assert (first["seen_mark"], second["seen_mark"], beta["seen_mark"]) == (False, True, False)  # /tmp per function
    assert first["tmp"] != beta["tmp"]
    assert (first["who"], beta["who"]) == ("alpha", "beta")
    env = first["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "AlphaFunction" and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST" and env["_HANDLER"] == "app.handler"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/AlphaFunction"
    assert "[$LATEST]" in env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["LAMBDA_TASK_ROOT"] == str(APP / "alpha") and env["TZ"] == ":UTC"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11" and env["AWS_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert first["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:AlphaFunction"
    assert first["memory"] == "128" and 0 < first["remaining_ms"] <= 5000


@pytest.mark.parametrize(("mode", "reason"), [
    ("exit", "Runtime exited with error: exit status 3"),
    ("segfault", "Runtime exited with error: signal: segmentation fault"),
    ("sys_exit", "Runtime exited with error: exit status 1"),
])
def test_a_process_that_ends_fails_only_its_invocation(runtime: ProcessRuntime, mode: str, reason: str) -> None:
    warm = runtime.invoke("FaultsFunction", {"mode": "pid"}).unwrap()["pid"]
    inv = runtime.invoke("FaultsFunction", {"mode": mode})
    assert not inv.ok and inv.error is not None
    assert getattr(inv.error, "error_type", None) == "Runtime.ExitError"
    assert str(inv.error) == f"RequestId: {inv.request_id} Error: {reason}"
    until(lambda: not alive(warm))
    again = runtime.invoke("FaultsFunction", {"mode": "pid"}).unwrap()
    assert again["pid"] != warm  # a new environment
    assert body(runtime.invoke("AlphaFunction", {}))["who"] == "alpha"


def test_a_loop_past_timeout_is_killed(runtime: ProcessRuntime) -> None:
    warm = runtime.invoke("FaultsFunction", {"mode": "pid"}).unwrap()["pid"]
    inv = runtime.invoke("FaultsFunction", {"mode": "loop"})  # on the same, warm environment
    assert getattr(inv.error, "error_type", None) == "Sandbox.Timedout"
    assert str(inv.error) == f"RequestId: {inv.request_id} Error: Task timed out after 2.00 seconds"
    until(lambda: not alive(warm))  # its CPU is free
    assert runtime.invoke("FaultsFunction", {"mode": "pid"}).unwrap()["pid"] != warm
    assert body(runtime.invoke("BetaFunction", {}))["who"] == "beta"


def test_memory_over_memory_size_kills_the_environment(runtime: ProcessRuntime) -> None:
    warm = runtime.invoke("FaultsFunction", {"mode": "pid"}).unwrap()["pid"]
    inv = runtime.invoke("FaultsFunction", {"mode": "memory"})
    assert getattr(inv.error, "error_type", None) == "Runtime.OutOfMemory"
    assert str(inv.error) == f"RequestId: {inv.request_id} Error: Runtime exited with error: signal: killed"
    until(lambda: not alive(warm))
    assert runtime.invoke("FaultsFunction", {"mode": "pid"}).ok


def test_memory_enforcement_can_be_turned_off(settings: Settings) -> None:
    rt = ProcessRuntime(load_for(settings), limits=Limits(4, 60, enforce_memory=False))
    try:
        assert any("memory enforcement: off" in line for line in rt.describe())
        # Without the watchdog the allocation runs on until the function's Timeout.
        inv = rt.invoke("FaultsFunction", {"mode": "memory"})
        assert getattr(inv.error, "error_type", None) == "Sandbox.Timedout"
    finally:
        rt.close()


def test_a_handler_error_has_lambdas_payload(runtime: ProcessRuntime) -> None:
    inv = runtime.invoke("FaultsFunction", {"mode": "raise", "detail": 42})
    error = inv.error
    assert getattr(error, "error_type", None) == "ValueError" and str(error) == "bad input: 42"
    assert "faults/app.py" in "".join(getattr(error, "stack_trace", []))
    assert "ValueError: bad input: 42" in inv.traceback


def test_an_import_error_fails_only_that_function(runtime: ProcessRuntime) -> None:
    for _ in range(2):  # every invocation tries the import again, as Lambda's next environment does
        inv = runtime.invoke("BrokenFunction", {})
        assert getattr(inv.error, "error_type", None) == "Runtime.ImportModuleError"
        assert str(inv.error) == "Unable to import module 'app': No module named 'not_a_module_anywhere'"
    assert body(runtime.invoke("AlphaFunction", {}))["who"] == "alpha"


def _one_function_app(tmp_path: Path, source: str, handler: str = "app.handler") -> Settings:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text(source)
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        f"      Handler: {handler}\n      CodeUri: fn/\n      Runtime: python3.11\n")
    return Settings.load(template=tmp_path / "template.yaml", data_dir=tmp_path / "data")


def test_a_missing_handler_fails_as_lambda_says(tmp_path: Path) -> None:
    rt = build_runtime(_one_function_app(tmp_path, "handler = None\ndef main(e, c):\n    return 1\n", "app.nope"))
    try:
        with pytest.raises(HandlerNotFound, match=r"Handler app.nope names no function .*\['main'\]"):
            rt.load("Fn")  # what `lightbox up` checks at start, without running the file
        inv = rt.invoke("Fn", {})
        assert getattr(inv.error, "error_type", None) == "Runtime.HandlerNotFound"
        assert str(inv.error) == "Handler 'nope' missing on module 'app'"
    finally:
        rt.close()


def test_a_code_change_retires_the_environments(tmp_path: Path) -> None:
    settings = _one_function_app(tmp_path, "import os\ndef handler(e, c):\n    return [1, os.getpid()]\n")
    rt = build_runtime(settings)
    try:
        version, pid = rt.invoke("Fn", {}).unwrap()
        assert version == 1
        (tmp_path / "fn" / "app.py").write_text("import os\ndef handler(e, c):\n    return [2, os.getpid()]\n")
        os.utime(tmp_path / "fn" / "app.py", (time.time() + 5, time.time() + 5))
        version, new_pid = until(lambda: (r := rt.invoke("Fn", {}).unwrap()) and r[0] == 2 and r)
        assert new_pid != pid
        until(lambda: not alive(pid))
    finally:
        rt.close()


def test_a_streamed_body_arrives_chunk_by_chunk(runtime: ProcessRuntime) -> None:
    inv = runtime.invoke("StreamFunction", {"queryStringParameters": {"count": "3"}})
    assert inv.ok and inv.result["statusCode"] == 200
    chunks = list(inv.result["body"])
    pid = chunks[0].decode().split()[-1]
    assert chunks == [f"data: {i} from {pid}\n\n".encode() for i in range(3)]
    # The environment is free again once its runtime asks for the next event.
    until(lambda: runtime.pool(runtime.template.function("StreamFunction")).idle)
    again = runtime.invoke("StreamFunction", {"queryStringParameters": {"count": "1"}})
    assert list(again.result["body"]) == [f"data: 0 from {pid}\n\n".encode()]  # the same warm environment


def test_concurrency_past_the_reserved_limit_is_throttled_or_waits(runtime: ProcessRuntime, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    results: dict[str, Invocation] = {}
    first = threading.Thread(target=lambda: results.update(
        first=runtime.invoke("SlowFunction", {"gate": str(gate)}, trigger="http:GET /slow")))
    first.start()
    pool = runtime.pool(runtime.template.function("SlowFunction"))
    until(lambda: len(pool.busy) == 1)
    throttled = runtime.invoke("SlowFunction", {}, trigger="http:GET /slow")  # ReservedConcurrentExecutions: 1
    assert isinstance(throttled.error, Throttled) and throttled.error.error_type == "TooManyRequestsException"
    queued = threading.Thread(target=lambda: results.update(
        queued=runtime.invoke("SlowFunction", {}, trigger="sqs:slow-queue")))
    queued.start()
    gate.touch()
    first.join(10)
    queued.join(10)
    assert results["first"].result["gate_open"] is True
    assert results["queued"].ok and results["queued"].result["pid"] == results["first"].result["pid"]


def test_logs_as_lambda_writes_them(runtime: ProcessRuntime, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "lightbox")
    cold, warm = runtime.invoke("AlphaFunction", {}), runtime.invoke("AlphaFunction", {})
    lines = [r.getMessage() for r in caplog.records if r.name == "lightbox.function"]
    for inv in (cold, warm):
        assert f"[AlphaFunction] START RequestId: {inv.request_id} Version: $LATEST" in lines
        assert f"[AlphaFunction] {inv.request_id}\thello from alpha" in lines
        assert f"[AlphaFunction] END RequestId: {inv.request_id}" in lines
    reports = [line for line in lines if "REPORT RequestId" in line]
    assert len(reports) == 2 and "Init Duration: " in reports[0] and "Init Duration" not in reports[1]
    assert "\tMemory Size: 128 MB\tMax Memory Used: " in reports[0] and "\tBilled Duration: " in reports[0]
    invocations = [json.loads(r.getMessage()) for r in caplog.records if r.name == "lightbox.invoke"]
    assert [i["request_id"] for i in invocations] == [cold.request_id, warm.request_id]


def test_idle_environments_end(settings: Settings) -> None:
    rt = ProcessRuntime(load_for(settings), limits=Limits(4, idle_seconds=0.3, enforce_memory=True))
    try:
        pid = body(rt.invoke("AlphaFunction", {}))["pid"]
        until(lambda: not alive(pid))
        assert body(rt.invoke("AlphaFunction", {}))["pid"] != pid
    finally:
        rt.close()


CHILD = """
import json, sys
from lightbox.config import Settings
from lightbox.runtime.invoke import build_runtime
rt = build_runtime(Settings.load(template=sys.argv[1]))
print(json.loads(rt.invoke("AlphaFunction", {}).result["body"])["pid"], flush=True)
sys.stdin.read()
"""


def test_environments_die_with_a_sigkilled_parent() -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(APP / "template.yaml")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdin is not None
    env_pid = int(proc.stdout.readline())
    assert alive(env_pid)
    proc.kill()
    proc.wait()
    proc.stdin.close()
    proc.stdout.close()
    until(lambda: not alive(env_pid))


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread that ended meanwhile
            found.extend(int(c) for c in (task / "children").read_text().split())
    return found


def _bootstraps(pid: int) -> list[int]:
    out = []
    for child in _children(pid):
        try:
            if b"bootstrap.py" in Path(f"/proc/{child}/cmdline").read_bytes():
                out.append(child)
        except OSError:
            continue
    return out


@pytest.fixture
def up(tmp_path: Path) -> Iterator[UpProcess]:
    started = start_up(tmp_path, ["-t", str(APP / "template.yaml"), "-w", "1", "--warm"])
    yield started
    started.stop()


def test_lightbox_up_serves_through_environments(up: UpProcess, tmp_path: Path) -> None:
    log = up.log_path.read_text()
    assert "memory enforcement: on" in log
    # --warm: one per function before any request (BrokenFunction's ends at once: its import fails)
    warmed = until(lambda: len(b := _bootstraps(up.proc.pid)) >= 5 and b)
    assert requests.get(f"{up.url}/alpha", timeout=10).json()["helper"] == "alpha's helper"
    assert requests.get(f"{up.url}/beta", timeout=10).json()["helper"] == "beta's helper"
    crashed = requests.post(f"{up.url}/faults", json={"mode": "exit"}, timeout=10)
    assert crashed.status_code == 500 and crashed.json() == {"message": "Internal Server Error"}
    timed_out = requests.post(f"{up.url}/faults", json={"mode": "loop"}, timeout=10)
    # A function that times out is a function error to API Gateway: an HTTP API answers 500 (504 is only
    # the integration's own timeout, docs/apigateway.md).
    assert timed_out.status_code == 500 and timed_out.json() == {"message": "Internal Server Error"}
    assert requests.post(f"{up.url}/faults", json={"mode": "ok"}, timeout=10).json()["mode"] == "ok"
    assert requests.get(f"{up.url}/alpha", timeout=10).ok
    gate = tmp_path / "gate"
    held = threading.Thread(target=requests.get, args=(f"{up.url}/slow",), kwargs={"params": {"gate": str(gate)},
                                                                                   "timeout": 10})
    held.start()
    until(lambda: "trigger\": \"http:GET /slow" in up.log_path.read_text() or
          "[SlowFunction] START" in up.log_path.read_text())
    assert requests.get(f"{up.url}/slow", timeout=10).status_code == 429
    gate.touch()
    held.join(10)
    stream = requests.get(f"{up.url}/stream", params={"count": "2"}, timeout=10, stream=True)
    assert stream.headers["content-type"] == "text/event-stream"
    assert next(line for line in stream.iter_lines() if line).startswith(b"data: 0 from ")
    pids = set(_bootstraps(up.proc.pid)) | set(warmed)
    assert up.stop() == 0
    until(lambda: not any(alive(p) for p in pids))


def test_next_carries_the_trace_client_context_and_identity(runtime: ProcessRuntime) -> None:
    from lightbox.logs import trace_id
    from lightbox.runtime.environments.runtime import invocation_headers

    trace_token = trace_id.set("Root=1-5e1b4151-5ac6c58dc39a9d7b4c5d3e2f")
    headers_token = invocation_headers.set({
        "Lambda-Runtime-Client-Context": json.dumps({"custom": {"k": "v"}, "client": {}, "env": {}}),
        "Lambda-Runtime-Cognito-Identity": json.dumps({"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "p"})})
    try:
        seen = body(runtime.invoke("AlphaFunction", {}))
    finally:
        invocation_headers.reset(headers_token)
        trace_id.reset(trace_token)
    assert seen["client_custom"] == {"k": "v"} and seen["identity"] == "id-1"
    assert seen["trace"] == "Root=1-5e1b4151-5ac6c58dc39a9d7b4c5d3e2f"
    no_trace = trace_id.set(None)  # whatever an earlier test left in this thread's context
    try:
        plain = body(runtime.invoke("AlphaFunction", {}))
    finally:
        trace_id.reset(no_trace)
    assert plain["client_custom"] is None and plain["identity"] is None and plain["trace"] is None


def test_a_client_that_leaves_a_stream_closes_the_generator_and_frees_the_environment(
        runtime: ProcessRuntime, tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    inv = runtime.invoke("StreamFunction", {"queryStringParameters": {"forever": "1", "closed_file": str(closed)}})
    stream = inv.result["body"]
    first = next(stream)
    assert first.startswith(b"data: 0 from ")
    stream.close()  # what the gateway does when the client goes away
    until(lambda: closed.exists())  # GeneratorExit reached the handler's generator
    pool = runtime.pool(runtime.template.function("StreamFunction"))
    until(lambda: pool.idle and not pool.busy)
    again = runtime.invoke("StreamFunction", {"queryStringParameters": {"count": "1"}})
    assert list(again.result["body"]) == [first]  # the same environment served the next one


def test_one_request_invoking_a_function_twice_reuses_its_environment(runtime: ProcessRuntime) -> None:
    # Within an HTTP request (an authorizer and its route may be one function) the runtime's connection,
    # given back only after the response, is given back at the second invocation instead of waiting.
    from lightbox import logs

    with logs.deferring():
        first = runtime.invoke("AlphaFunction", {})
        second = runtime.invoke("AlphaFunction", {})
        third = runtime.invoke("AlphaFunction", {})
    assert first.ok and second.ok and third.ok, (first.error, second.error, third.error)
    pids = {json.loads(inv.result["body"])["pid"] for inv in (first, second, third)}
    assert len(pids) == 1


def process_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1][0]


def test_an_idle_environment_is_frozen_after_the_response_and_thawed_for_its_next_event(
        runtime: ProcessRuntime) -> None:
    # As Lambda freezes a sandbox between invocations. Within an HTTP request the runtime's answer is
    # acknowledged, and the runtime frozen, once the response is out: the end of the deferring block.
    from lightbox import logs

    pid = body(runtime.invoke("AlphaFunction", {}))["pid"]  # cold: its first answer is read apart
    until(lambda: process_state(pid) == "T")
    with logs.deferring():
        assert body(runtime.invoke("AlphaFunction", {}))["pid"] == pid
        time.sleep(0.2)
        assert process_state(pid) != "T"  # waiting for the 202 of its answer
    until(lambda: process_state(pid) == "T")  # stopped: its /next was read, then SIGSTOP
    again = body(runtime.invoke("AlphaFunction", {}))  # written while frozen, then thawed
    assert again["pid"] == pid
    until(lambda: process_state(pid) == "T")
