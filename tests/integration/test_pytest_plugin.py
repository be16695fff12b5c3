"""The pytest plugin as a user meets it: a throwaway SAM app in a temp dir, a test file written against
the `lightbox` fixture, run by pytest (pytester), its outcomes counted."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from lightbox.testing import TestServers

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

# A small app unlike the photo app: POST /notes writes incoming/<id>.txt; the bucket event indexes
# it onto a queue; the queue's consumer writes shouted/<id>.txt, or fails on "boom".
TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.11
    Handler: app.handler
    Timeout: 5
    Environment:
      Variables:
        BUCKET: notes-bucket
        WORK_QUEUE_URL: !Ref WorkQueue
Resources:
  NotesBucket:
    Type: AWS::S3::Bucket
    Properties: {BucketName: notes-bucket}
  WorkDlq:
    Type: AWS::SQS::Queue
    Properties: {QueueName: work-dlq}
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: work
      RedrivePolicy: {deadLetterTargetArn: !GetAtt WorkDlq.Arn, maxReceiveCount: 3}
  ApiFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: api/
      Events:
        Post: {Type: HttpApi, Properties: {Path: /notes, Method: post}}
  IndexFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: index/
      Events:
        Created:
          Type: S3
          Properties:
            Bucket: !Ref NotesBucket
            Events: s3:ObjectCreated:*
            Filter: {S3Key: {Rules: [{Name: prefix, Value: incoming/}]}}
  ShoutFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: shout/
      Events:
        Work: {Type: SQS, Properties: {Queue: !GetAtt WorkQueue.Arn, BatchSize: 1}}
"""

API = """
import json, os, uuid
import boto3

def handler(event, context):
    note_id = uuid.uuid4().hex[:8]
    boto3.client("s3").put_object(Bucket=os.environ["BUCKET"], Key=f"incoming/{note_id}.txt",
                                  Body=event["body"].encode())
    return {"statusCode": 201, "body": json.dumps({"id": note_id})}
"""

INDEX = """
import logging, os
import boto3

log = logging.getLogger("index")

def handler(event, context):
    for record in event["Records"]:
        key = record["s3"]["object"]["key"]
        log.info("indexing %s", key)
        boto3.client("sqs").send_message(QueueUrl=os.environ["WORK_QUEUE_URL"], MessageBody=key)
"""

SHOUT = """
import os
import boto3

def handler(event, context):
    s3 = boto3.client("s3")
    for record in event["Records"]:
        key = record["body"]
        text = s3.get_object(Bucket=os.environ["BUCKET"], Key=key)["Body"].read().decode()
        print("shouting", key)  # Lambda puts a handler's prints in its log
        if "boom" in text:
            raise ValueError(f"cannot shout {key}")
        s3.put_object(Bucket=os.environ["BUCKET"], Key=key.replace("incoming/", "shouted/"), Body=text.upper())
"""


@pytest.fixture
def app(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yaml", template=TEMPLATE)
    for folder, code in (("api", API), ("index", INDEX), ("shout", SHOUT)):
        pytester.mkdir(folder)
        (pytester.path / folder / "app.py").write_text(textwrap.dedent(code))
    return pytester


def run(app: pytest.Pytester, servers: TestServers, *args: str) -> pytest.RunResult:
    # The inner session uses this session's servers instead of starting its own (saves a moto start).
    return app.runpytest("--lightbox-redis-url", servers.redis_url, "--lightbox-s3-endpoint", servers.s3_endpoint,
                         *args)


def test_a_test_file_against_the_plugin_runs_the_apps_triggers(app: pytest.Pytester,
                                                                lightbox_servers: TestServers) -> None:
    app.makepyfile(test_notes="""
        import sys
        import pytest
        from lightbox.testing import ConditionNotMet, s3_put_event, sqs_event
        from lightbox.testing.recording import PrintRouter

        def test_a_note_goes_through_http_bucket_and_queue(lightbox):
            r = lightbox.http("POST", "/notes", data="hello")
            assert r.status_code == 201
            note = r.json["id"]
            assert lightbox.s3.get("notes-bucket", f"shouted/{note}.txt") == b"HELLO"
            assert [c.function for c in lightbox.invocations] == ["ApiFunction", "IndexFunction", "ShoutFunction"]
            assert lightbox.logs("IndexFunction") == [f"INFO index indexing incoming/{note}.txt"]
            assert lightbox.logs("ShoutFunction") == [f"shouting incoming/{note}.txt"]
            assert not isinstance(sys.stdout, PrintRouter)  # routed only while invocations run

        def test_a_failing_message_is_retried_then_dead_lettered(lightbox):
            lightbox.s3.put("notes-bucket", "incoming/bad.txt", "boom")
            [dead] = lightbox.dlq("work-dlq")
            assert [m["body"] for m in dead.messages] == ["incoming/bad.txt"]
            assert "cannot shout incoming/bad.txt" in dead.error
            receives = [c.event["Records"][0]["attributes"]["ApproximateReceiveCount"]
                        for c in lightbox.calls("ShoutFunction")]
            assert receives == ["1", "2", "3"]

        def test_invoke_returns_the_result_or_raises_the_handlers_error(lightbox):
            lightbox.s3.put("notes-bucket", "incoming/x.txt", "boom", run=False)
            with pytest.raises(ValueError, match="cannot shout incoming/x.txt"):
                lightbox.invoke("ShoutFunction", sqs_event("incoming/x.txt"))
            assert lightbox.invoke("IndexFunction", s3_put_event("notes-bucket", "incoming/x.txt"), run=False) is None
            assert lightbox.sqs.depth("work")["waiting"] == 1

        def test_wait_until_returns_the_value_or_fails_the_test(lightbox):
            lightbox.s3.put("notes-bucket", "incoming/y.txt", "yo", run=False)
            assert lightbox.wait_until(lambda: lightbox.s3.keys("notes-bucket", "shouted/")) == ["shouted/y.txt"]
            with pytest.raises(ConditionNotMet, match="after 0.1s"):
                lightbox.wait_until(lambda: False, timeout=0.1)
    """)
    result = run(app, lightbox_servers)
    result.assert_outcomes(passed=4)


def test_two_tests_do_not_see_each_others_objects_or_messages(app: pytest.Pytester,
                                                              lightbox_servers: TestServers) -> None:
    # Each test first checks it starts empty, then leaves an object and a queued message behind.
    check = """
        assert lightbox.s3.keys("notes-bucket") == []
        assert lightbox.sqs.depth("work") == {"waiting": 0, "running": 0, "retrying": 0, "dead": 0}
        lightbox.s3.put("notes-bucket", "incoming/left.txt", "left behind", run=False)
        lightbox.sqs.send("work", "incoming/left.txt", run=False)
        assert lightbox.sqs.depth("work")["waiting"] == 1 and lightbox.invocations == []
    """
    body = textwrap.indent(textwrap.dedent(check), "    ")
    app.makepyfile(test_isolation=f"def test_first(lightbox):\n{body}\ndef test_second(lightbox):\n{body}")
    result = run(app, lightbox_servers)
    result.assert_outcomes(passed=2)


def test_a_failing_handler_shows_its_traceback_in_the_report(app: pytest.Pytester,
                                                               lightbox_servers: TestServers) -> None:
    app.makepyfile(test_failing="""
        from lightbox.testing import sqs_event

        def test_invoked(lightbox):
            lightbox.s3.put("notes-bucket", "incoming/a.txt", "boom", run=False)
            lightbox.invoke("ShoutFunction", sqs_event("incoming/a.txt"))

        def test_triggered(lightbox):
            lightbox.s3.put("notes-bucket", "incoming/b.txt", "boom")
            assert lightbox.s3.keys("notes-bucket", "shouted/") == ["shouted/b.txt"]
    """)
    result = run(app, lightbox_servers)
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    invoked, triggered = out.split("_ test_triggered _")
    # invoke() raises the handler's own error: pytest shows the handler's frame.
    assert "shout/app.py:12: ValueError" in invoked and "ValueError: cannot shout incoming/a.txt" in invoked
    # A handler a trigger ran failed quietly (retries, DLQ); the report still carries its traceback.
    section = triggered.split("lightbox: failed invocations")[1]
    assert section.count("ShoutFunction (sqs:work) failed") == 3
    assert 'shout/app.py", line 12, in handler' in section and "ValueError: cannot shout incoming/b.txt" in section


def test_the_plugin_starts_nothing_for_tests_that_do_not_use_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain(tmp_path):\n    assert tmp_path.is_dir()\n")
    result = pytester.runpytest("--setup-show")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "lightbox-0.1.0" in out  # loaded through the pytest11 entry point: installing is enough
    assert "SETUP    S lightbox_servers" not in out and "lightbox_servers" not in out


def readme_files(section: str) -> dict[str, str]:
    """The python blocks of a README section, each named by its first line (`# conftest.py`)."""
    text = (ROOT / "README.md").read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n# (\S+\.py)\n(.*?)```", text, re.DOTALL)
    return {name: code for name, code in blocks}


def test_the_readme_example_runs_the_photo_app_from_upload_to_thumbnails(
        pytester: pytest.Pytester, lightbox_servers: TestServers) -> None:
    files = readme_files("Testing your functions")
    assert sorted(files) == ["conftest.py", "test_thumbnails.py"]
    for name, code in files.items():
        (pytester.path / name).write_text(code)
    result = pytester.runpytest("--lightbox-template", str(ROOT / "template.yaml"),
                                "--lightbox-redis-url", lightbox_servers.redis_url,
                                "--lightbox-s3-endpoint", lightbox_servers.s3_endpoint)
    result.assert_outcomes(passed=1)


def test_a_missing_template_is_named_with_the_ways_to_give_one(pytester: pytest.Pytester,
                                                              lightbox_servers: TestServers) -> None:
    pytester.makepyfile("def test_needs_a_template(lightbox):\n    pass\n")
    result = run(pytester, lightbox_servers)
    result.assert_outcomes(errors=1)
    said = "*lightbox: no SAM template at */template.yaml; put template.yaml in the rootdir, pass --lightbox-template*"
    result.stdout.fnmatch_lines([said])


def test_strict_fails_a_test_whose_template_has_something_not_emulated(pytester: pytest.Pytester,
                                                                         lightbox_servers: TestServers) -> None:
    pytester.makefile(".yaml", template=TEMPLATE.replace("Resources:\n", "Resources:\n  Table:\n"
                                                         "    Type: AWS::DynamoDB::GlobalTable\n", 1))
    for folder, code in (("api", API), ("index", INDEX), ("shout", SHOUT)):
        pytester.mkdir(folder)
        (pytester.path / folder / "app.py").write_text(textwrap.dedent(code))
    pytester.makepyfile("def test_uses_the_app(lightbox):\n    assert lightbox.template.functions\n")
    run(pytester, lightbox_servers).assert_outcomes(passed=1)  # without --lightbox-strict it runs
    result = run(pytester, lightbox_servers, "--lightbox-strict")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*lightbox: error: Table: tables are not created locally yet; calls to it from "
                                 "functions fail (AWS::DynamoDB::GlobalTable; not emulated, and --strict "
                                 "refuses it)"])


SIBLINGS = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.11, Handler: app.handler, Timeout: 5}
Resources:
  AFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: a/}
  BFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: b/}
"""


@pytest.fixture
def siblings(pytester: pytest.Pytester) -> pytest.Pytester:
    """Two functions whose folders each hold a `helper.py`: one sys.modules would give both the same."""
    pytester.makefile(".yaml", template=SIBLINGS)
    for folder in ("a", "b"):
        pytester.mkdir(folder)
        (pytester.path / folder / "helper.py").write_text(f"NAME = {folder!r}\n")
        (pytester.path / folder / "app.py").write_text("import helper\n\ndef handler(event, context):\n"
                                                       "    return helper.NAME\n")
    pytester.makepyfile(textwrap.dedent("""
        import pytest

        def test_each_function_its_own_helper(lightbox):
            assert lightbox.invoke("AFunction", {}) == "a"
            assert lightbox.invoke("BFunction", {}) == "b"

        @pytest.mark.lightbox_isolation("process")
        def test_marked_for_environments(lightbox):
            assert [lightbox.invoke(f, {}) for f in ("BFunction", "AFunction")] == ["b", "a"]
    """))
    return pytester


def test_in_process_refuses_functions_that_share_a_module_name(siblings: pytest.Pytester,
                                                               lightbox_servers: TestServers) -> None:
    result = run(siblings, lightbox_servers)
    result.assert_outcomes(passed=1, errors=1)  # the marked test runs in environments
    result.stdout.fnmatch_lines(["*lightbox: error: in-process, functions share one sys.modules and would run each "
                                 "other's modules: module `helper` is in the code of AFunction (*/a) and BFunction "
                                 "(*/b). run it with --lightbox-isolation=process, or mark the test "
                                 '@pytest.mark.lightbox_isolation("process")*'])


def test_isolation_process_runs_each_function_in_its_own_environment(siblings: pytest.Pytester,
                                                                     lightbox_servers: TestServers) -> None:
    run(siblings, lightbox_servers, "--lightbox-isolation=process").assert_outcomes(passed=2)
