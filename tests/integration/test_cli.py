"""The `lightbox` command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lightbox.stack.up import Stack

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "apps" / "sample" / "template.yaml"


def lightbox(*args: str, stdin: str = "", env: dict[str, str] | None = None,
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lightbox", *args], check=False, input=stdin, capture_output=True,
                          text=True,
                          timeout=120, env={**os.environ, **(env or {})}, cwd=cwd or ROOT)


def test_validate_says_what_runs_and_what_is_not_emulated_and_strict_fails(tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties:\n      Handler: app.handler\n      CodeUri: fn/\n      Runtime: python3.11\n"
        "      Events:\n        Logs:\n          Type: CloudWatchLogs\n"
        "          Properties: {LogGroupName: app, FilterPattern: ERROR}\n"
        "        Get:\n          Type: HttpApi\n          Properties: {Path: /items, Method: get}\n")
    line = ("Fn (AWS::Serverless::Function): Events.Logs: log subscription filters are not run; the function behind "
            "it gets no logs")
    out = lightbox("validate", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"lightbox: {tmp_path / 'template.yaml'}: 1 functions, 1 routes, 0 queues, 0 buckets",
        "  function Fn                           python3.11       app.handler  in fn",
        "    route    GET     /items  (ServerlessHttpApi, stage $default; payload 2.0)",
        "not emulated (--strict refuses these):",
        f"  {line}"]
    strict = lightbox("validate", "--strict", cwd=tmp_path)
    assert strict.returncode == 1
    assert strict.stderr.splitlines() == [
        "lightbox: error: Fn.Events.Logs: log subscription filters are not run; the function behind it gets no logs "
        "(AWS::Serverless::Function; not emulated, and --strict refuses it)"]


def test_broken_and_wrongly_typed_templates_are_one_line_never_a_traceback(tmp_path: Path) -> None:
    cases = {
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties: [Handler: x\n":
            "template.yaml:5:1: expected ',' or ']', but got '<stream end>' (YAML syntax); fix the file and load it "
            "again",
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties: {Handler: app.handler, Code: fn/, "
        "Runtime: python3.12, Environment: [A]}\n": "Fn.Environment: must be a mapping; got a list (['A'])",
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties: {Handler: app.handler, CodeUri: fn/, Runtime: python3.12, MemorySize: lots}\n":
            "Fn.MemorySize: must be a whole number; got a string ('lots')",
        "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties: {VisibilityTimeout: [30]}\n":
            "Q.VisibilityTimeout: must be a whole number; got a list ([30])",
    }
    (tmp_path / "fn").mkdir()
    for text, said in cases.items():
        (tmp_path / "template.yaml").write_text(text)
        for command in ("validate", "up"):
            out = lightbox(command, "-p", "0", cwd=tmp_path, env={"LIGHTBOX_DATA_DIR": str(tmp_path / "data")}) \
                if command == "up" else lightbox(command, cwd=tmp_path)
            path = f"{tmp_path}/" if said.startswith("template.yaml") else ""
            assert out.returncode == 2, out.stdout
            assert out.stderr.splitlines() == [f"lightbox: error: {path}{said}"], command


def test_up_refuses_a_handler_that_does_not_exist(tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def main(e, c):\n    return 1\n")
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: app.handler\n"
        "      CodeUri: fn/\n      Runtime: python3.11\n")
    out = lightbox("up", "-p", "0", cwd=tmp_path, env={"LIGHTBOX_DATA_DIR": str(tmp_path / "data")})
    assert out.returncode == 2
    assert "Handler app.handler names no function" in out.stderr and "['main']" in out.stderr


def test_invoke_prints_the_result_and_fails_when_the_handler_raises(tmp_path: Path) -> None:
    event = lightbox("event", "generate", "http", "--method", "GET", "--path", "/env").stdout
    out = lightbox("invoke", "HttpFunction", "-t", str(SAMPLE), "-e", "-", stdin=event)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"greeting": "hello", "function": "HttpFunction"}
    assert '"outcome": "ok"' in out.stderr  # the log line goes to stderr, the result alone to stdout

    rest = json.dumps({"path": "/boom", "httpMethod": "GET"})
    failed = lightbox("invoke", "SlowFunction", "-t", str(SAMPLE), "-e", "-", stdin=rest)
    assert failed.returncode == 1 and failed.stdout == ""
    assert "ValueError: boom: the handler raised on purpose" in failed.stderr


def test_event_generate_matches_the_samples() -> None:
    s3 = json.loads(lightbox("event", "generate", "s3-put", "--bucket", "b-1", "--key", "in/a b.jpg").stdout)
    assert s3["Records"][0]["s3"]["object"]["key"] == "in/a+b.jpg"
    sqs = json.loads(lightbox("event", "generate", "sqs", "--body", "one", "--body", "two").stdout)
    assert [r["body"] for r in sqs["Records"]] == ["one", "two"]
    for name in ("s3-put", "sqs", "http", "schedule", "minio-webhook"):
        assert json.loads((ROOT / "events" / f"{name}.json").read_text())


def test_status_and_dlq_read_the_running_stack(sample_stack: Stack) -> None:
    env = {"REDIS_URL": str(sample_stack.settings.redis_url)}
    status = lightbox("status", "-t", str(SAMPLE), env=env)
    assert status.returncode == 0, status.stderr
    assert "QueueFunction" in status.stdout and "sample-work" in status.stdout and "DLQ" in status.stdout
    dlq = lightbox("dlq", "list", "sample-work-dlq", "-t", str(SAMPLE), env=env)
    assert dlq.returncode == 0, dlq.stderr
