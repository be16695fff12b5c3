"""template.yaml wires every function, queue and setting the photo app needs (read as plain YAML)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml

from photolib.config import DEFAULT_PIPELINE, Settings

ROOT = Path(__file__).resolve().parents[3]


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return dict(yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader))


def test_only_supported_intrinsics(template: dict[str, Any]) -> None:
    text = (ROOT / "template.yaml").read_text()
    tags = {word.split()[0].strip("[") for word in text.split("!")[1:]}
    # Not and Equals only in Rules, which CloudFormation checks at deploy and lightbox does not read.
    assert tags <= {"Ref", "GetAtt", "Sub", "Not", "Equals"}, tags


def test_every_stage_has_a_queue_a_dlq_and_a_function_that_reports_batch_failures(template: dict[str, Any]) -> None:
    res = template["Resources"]
    for stage in DEFAULT_PIPELINE:
        name = stage.capitalize()
        queue = res[f"{name}Queue"]["Properties"]
        assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"GetAtt": f"{name}Dlq.Arn"}
        assert queue["VisibilityTimeout"] >= 6 * template["Globals"]["Function"]["Timeout"]
        [event] = res[f"{name}Function"]["Properties"]["Events"].values()
        assert event["Type"] == "SQS"
        assert event["Properties"]["Queue"] == {"GetAtt": f"{name}Queue.Arn"}
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        env = template["Globals"]["Function"]["Environment"]["Variables"]
        assert env[f"{stage.upper()}_QUEUE_URL"] == {"Ref": f"{name}Queue"}


def test_every_env_var_is_a_setting_and_every_function_has_a_handler(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert {name.lower() for name in env} <= set(Settings.model_fields)
    for name, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        app = ROOT / res["Properties"]["CodeUri"] / "app.py"
        functions = {n.name for n in ast.parse(app.read_text()).body if isinstance(n, ast.FunctionDef)}
        assert "handler" in functions, f"{name}: {app} has no handler"


def test_ingest_listens_to_originals_only_through_the_bucket_events_queue(template: dict[str, Any]) -> None:
    [event] = template["Resources"]["IngestFunction"]["Properties"]["Events"].values()
    assert event["Type"] == "SQS" and event["Properties"]["Queue"] == {"GetAtt": "BucketEventsQueue.Arn"}
    [note] = template["Resources"]["PhotosBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert note["Queue"] == {"GetAtt": "BucketEventsQueue.Arn"}
    assert note["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "originals/"}]
