"""What SAM users pass in: --parameter-overrides in both syntaxes, samconfig.toml, --env-vars, the
template SAM CLI would pick (sam build's output, cdk.out); parameter types and constraints."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest
from template_helpers import load, write

from lightbox.config import Settings, child_env, parameter_overrides
from lightbox.exceptions import LightboxError
from lightbox.overrides import parse_parameter_overrides
from lightbox.stack.options import command_settings
from lightbox.template import samconfig
from lightbox.template.loader import load_template, pick_template

FN = """
    Fn:
      Type: AWS::Serverless::Function
      Properties:
        Handler: app.handler
        CodeUri: fn/
        Runtime: python3.12
        Environment: {Variables: {GREETING: !Ref Greeting, LEVEL: info, EMPTY: ""}}
"""
GREETING = "Parameters:\n  Greeting: {Type: String, Default: hi}\n"


@pytest.mark.parametrize(("given", "expected"), [
    ("A=1 B=two", {"A": "1", "B": "two"}),
    ('A="a value with spaces" B=x', {"A": "a value with spaces", "B": "x"}),
    ("ParameterKey=A,ParameterValue=1 ParameterKey=B,ParameterValue=a,b", {"A": "1", "B": "a,b"}),
    ("ParameterKey=A,ParameterValue='two words'", {"A": "two words"}),
    (["A=1", "B=2"], {"A": "1", "B": "2"}),
    ({"A": 1, "B": True, "C": None}, {"A": "1", "B": "true", "C": ""}),
    ([{"ParameterKey": "A", "ParameterValue": "x"}], {"A": "x"}),
    ("A=", {"A": ""}),
])
def test_parameter_overrides_in_both_sam_syntaxes(given: object, expected: dict[str, str]) -> None:
    assert parse_parameter_overrides(given) == expected


def test_parameter_overrides_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "values.json").write_text(json.dumps([{"ParameterKey": "A", "ParameterValue": "from file"}]))
    (tmp_path / "more.yaml").write_text("B: 2\n")
    assert parse_parameter_overrides(f"file://{tmp_path / 'values.json'} file://more.yaml C=3", tmp_path) == {
        "A": "from file", "B": "2", "C": "3"}


@pytest.mark.parametrize("bad", ["A", "=x", "A='unclosed"])
def test_bad_parameter_overrides_say_what_is_accepted(bad: str) -> None:
    with pytest.raises(LightboxError, match="--parameter-overrides"):
        parse_parameter_overrides(bad)


def test_overrides_with_spaces_survive_the_way_to_a_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(template=tmp_path / "t.yaml", parameter_overrides={"A": "two words", "B": "it's"})
    monkeypatch.setenv("LIGHTBOX_PARAMETER_OVERRIDES", child_env(settings)["LIGHTBOX_PARAMETER_OVERRIDES"])
    assert parameter_overrides(None) == {"A": "two words", "B": "it's"}


def test_samconfig_as_sam_cli_reads_it(tmp_path: Path) -> None:
    (tmp_path / "samconfig.toml").write_text("""
version = 0.1
[default.global.parameters]
region = "us-east-1"
[default.deploy.parameters]
stack_name = "shop"
parameter_overrides = "Greeting=deployed Level=1"
[default.local_start_api.parameters]
parameter_overrides = ["Greeting=local"]
env_vars = "env.json"
[prod.local_start_api.parameters]
parameter_overrides = 'Greeting="from prod"'
""")
    found = samconfig.find(tmp_path, None)
    assert samconfig.settings(found, "default", "local_start_api") == {
        "stack_name": "shop", "parameter_overrides": ["Greeting=local"], "region": "us-east-1",
        "env_vars": "env.json"}
    assert samconfig.settings(found, "default", "local_invoke")["parameter_overrides"] == "Greeting=deployed Level=1"
    write(tmp_path, FN, GREETING)
    args = argparse.Namespace(template=str(tmp_path / "template.yaml"), parameter_overrides=["Level=2"],
                              config_file=None, config_env="prod")
    settings = command_settings(args)
    assert settings.parameter_overrides == {"Greeting": "from prod", "Level": "2"}  # flags win
    assert settings.stack_name is None  # prod has no deploy table
    args.config_env = None
    assert command_settings(args).stack_name == "shop"
    with pytest.raises(LightboxError, match="--config-env staging: no such environment"):
        command_settings(argparse.Namespace(template=str(tmp_path / "template.yaml"), config_env="staging"))


def test_env_vars_override_declared_variables_as_sam_cli_does(tmp_path: Path) -> None:
    (tmp_path / "env.json").write_text(json.dumps({
        "Parameters": {"LEVEL": "debug", "OTHER": "x"}, "Fn": {"GREETING": "from env.json", "UNDECLARED": "y"},
        "Ghost": {"A": "b"}}))
    t = load(tmp_path, FN, GREETING, env_vars=tmp_path / "env.json")
    assert t.function("Fn").environment == {"GREETING": "from env.json", "LEVEL": "debug", "EMPTY": ""}
    assert t.notes == ["env.json: Fn.UNDECLARED is not in Fn's Environment; not set (SAM CLI sets only declared "
                       "variables)", "env.json: Ghost names no function of this template; not used"]
    (tmp_path / ".env").write_text("LEVEL=warn\n")
    assert load(tmp_path, FN, GREETING, env_vars=tmp_path / ".env").function("Fn").environment["LEVEL"] == "warn"
    (tmp_path / "bad.json").write_text('{"Fn": "nope"}')
    with pytest.raises(LightboxError, match='must map "Parameters" and function names'):
        load(tmp_path, FN, GREETING, env_vars=tmp_path / "bad.json")


def test_parameter_types_as_cloudformation_gives_them(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Fn:
          Type: AWS::Lambda::Function
          Properties:
            Handler: app.handler
            Code: fn/
            Runtime: python3.12
            Timeout: !Ref Seconds
            Environment: {Variables: {FIRST: !Select [0, !Ref Names], COUNT: !Ref Seconds, SSM: ok}}
    """, "Parameters:\n  Seconds: {Type: Number, Default: '7', MinValue: 1}\n  Names: {Type: CommaDelimitedList, "
         "Default: 'a, b'}\n  Version: {Type: 'AWS::SSM::Parameter::Value<String>', Default: /cdk/version}\n",
        head="")
    fn = t.function("Fn")
    assert fn.timeout == 7 and fn.environment["FIRST"] == "a" and fn.environment["COUNT"] == "7"


def test_the_template_sam_cli_would_pick(tmp_path: Path) -> None:
    default = tmp_path / "template.yaml"
    default.write_text("Resources: {}\n")
    built = tmp_path / ".aws-sam" / "build" / "template.yaml"
    built.parent.mkdir(parents=True)
    built.write_text("Resources: {}\n")
    os.utime(default, (1_000_000, 1_000_000))
    assert pick_template(default, given=False) == (
        built, f"using {built} (sam build's output, newer than template.yaml)")
    assert pick_template(default, given=True) == (default, None)  # -t names the file: it is the one
    os.utime(built, (500_000, 500_000))
    assert pick_template(default, given=False) == (
        default, f"not using {built}: it is older than template.yaml (run sam build again to use it)")
    json_app = tmp_path / "json-app"
    json_app.mkdir()
    (json_app / "template.json").write_text("{}")
    assert pick_template(json_app / "template.yaml", given=False) == (json_app / "template.json", None)
    other = tmp_path / "cdk-app"
    (other / "cdk.out").mkdir(parents=True)
    (other / "cdk.out" / "manifest.json").write_text("{}")
    assert pick_template(other / "template.yaml", given=False) == (
        other / "cdk.out", f"no template.yaml: using the CDK app in {other / 'cdk.out'}")


def test_a_cdk_out_folder_with_two_stacks_and_an_export(tmp_path: Path) -> None:
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "Shared.template.json").write_text(json.dumps({
        "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"QueueUrl": {"Value": {"Ref": "Q"}, "Export": {"Name": "shared-queue"}}}}))
    fn = {"Handler": "index.handler", "Runtime": "python3.12", "Code": {"ZipFile": "def handler(e, c): pass"},
          "Environment": {"Variables": {"QUEUE": {"Fn::ImportValue": "shared-queue"}}}}
    (out / "App.template.json").write_text(json.dumps(
        {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": fn}}}))
    (out / "manifest.json").write_text(json.dumps({"version": "39.0.0", "artifacts": {
        "App": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "App.template.json"},
                "dependencies": ["Shared"]},
        "Shared": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Shared.template.json"}}}}))
    t = load_template(out, data_dir=tmp_path / "data")
    assert t.function("App/Fn").environment["QUEUE"] == "http://127.0.0.1:3000/_lightbox/sqs/000000000000/Shared-Q"
    assert t.notes == [f"CDK app: stacks Shared, App from {out / 'manifest.json'}"]
