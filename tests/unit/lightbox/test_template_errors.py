"""Every refusal is one line, `RESOURCE.Property: what is wrong; what is accepted` (FILE:LINE:COLUMN for
syntax), never a traceback: broken YAML and JSON, wrong types, what AWS would refuse at deploy."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightbox.exceptions import LightboxError
from lightbox.template.loader import load_template

FN = "  Fn:\n    Type: AWS::Lambda::Function\n    Properties: {Handler: app.handler, Code: fn/, Runtime: python3.12"
SAM = "Transform: AWS::Serverless-2016-10-31\n"
SAM_FN = "  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {Handler: app.handler, CodeUri: fn/, " \
         "Runtime: python3.12"
CASES = [
    # syntax: the file, line and column
    ("Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties: {a: b\n",
     "{t}:5:1: expected ',' or '}}', but got '<stream end>' (YAML syntax); fix the file and load it again"),
    ("Resources:\n  Fn:\n    Type: x\n   Bad: y\n",
     "{t}:4:4: expected <block end>, but found '<block mapping start>' (YAML syntax); fix the file and load it again"),
    ('{"Resources": {"A": {"Type": "x",}}}',
     "{t}:1:34: Expecting property name enclosed in double quotes (JSON syntax); fix the file and load it again"),
    ("Resources:\n  A: {Type: AWS::SQS::Queue}\n  A: {Type: AWS::SQS::Queue}\n",
     "{t}:3:3: duplicate key 'A' (CloudFormation refuses a key given twice) (YAML syntax); fix the file and load it "
     "again"),
    ("Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties: {QueueName: !Reff x}\n",
     "{t}:4:29: unknown tag !Reff (CloudFormation's are !Ref, !Condition, !GetAtt, !Sub, !Join, !Select, !Split, "
     "!If, !Equals, !Not, !And, !Or, !FindInMap, !ImportValue, !GetAZs, !Base64, !Cidr ...) (YAML syntax); fix the "
     "file and load it again"),
    # shapes and types
    ("", "{t}: is empty; a template is a mapping of sections (Resources, Parameters, ...)"),
    ("- a\n- b\n", "{t}: is a list; a template is a mapping of sections (Resources, Parameters, ...)"),
    ("Resources: {}\n", "{t}: defines no Resources; CloudFormation needs at least one"),
    ("Resources: [a, b]\n", "Resources: must be a mapping; got a list in {t}"),
    ("Resources:\n  A: {Type: AWS::SQS::Queue, Properties: [x]}\n", "A.Properties: must be a mapping; got a list"),
    ("Resources:\n  A: {Properties: {}}\n", "A.Type: must be a resource type string; got nothing"),
    ("Resources:\n" + FN + ", Layers: arn:aws:lambda:us-east-1:1:layer:x:1}\n",
     "Fn.Layers: must be a list; got a string ('arn:aws:lambda:us-east-1:1:layer:x:1')"),
    ("Resources:\n" + FN + ", Timeout: soon}\n", "Fn.Timeout: must be a number; got a string ('soon')"),
    ("Resources:\n" + FN + ", Environment: {Variables: {X: {a: b}}}}\n",
     "Fn.Environment.Variables.X: must be a string; the value is a mapping, not a string"),
    ("Resources:\n  Q: {Type: AWS::SQS::Queue, Properties: {RedrivePolicy: 'not json'}}\n",
     "Q.RedrivePolicy: is not a JSON object"),
    ("Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties: {Code: fn/, Runtime: python3.12}\n",
     "Fn.Handler: required for a Zip function (module.function for Python); Lambda refuses a function without one"),
    # what AWS would refuse
    ("Resources:\n" + FN + ", Environment: {Variables: {X: !Ref Nope}}}\n",
     "Fn.Environment.Variables.X: Ref Nope names no parameter or resource of this template"),
    ("Conditions:\n  Never: !Equals [a, b]\nResources:\n  Q: {Type: AWS::SQS::Queue, Condition: Never}\n" + FN
     + ", Environment: {Variables: {X: !Ref Q}}}\n",
     "Fn.Environment.Variables.X: refers to Q, whose Condition Never is false, so it does not exist; guard the Ref "
     "with Fn::If, as AWS requires"),
    ("Resources:\n" + FN + ", Environment: {Variables: {X: !ImportValue shared-vpc}}}\n",
     "Fn.Environment.Variables.X: Fn::ImportValue shared-vpc: other stacks' exports are not read; give its value "
     "with --parameter-overrides shared-vpc=VALUE"),
    ("Parameters:\n  Env: {Type: String}\nResources:\n" + FN + ", Environment: {Variables: {X: !Ref Env}}}\n",
     "Parameters.Env: has no value: no Default, and not given; pass --parameter-overrides Env=VALUE (or set it in "
     "samconfig.toml)"),
    ("Parameters:\n  Env: {Type: String, Default: qa, AllowedValues: [dev, prod]}\nResources:\n"
     "  Q: {Type: AWS::SQS::Queue}\n", "Parameters.Env: 'qa' is not one of its AllowedValues ['dev', 'prod']"),
    ("Parameters:\n  N: {Type: Number, Default: ten}\nResources:\n  Q: {Type: AWS::SQS::Queue}\n",
     "Parameters.N: 'ten' is not a number (Type: Number)"),
    ("Parameters:\n  S: {Type: String, Default: ab, MinLength: 3}\nResources:\n  Q: {Type: AWS::SQS::Queue}\n",
     "Parameters.S: 'ab' is shorter than its MinLength of 3"),
    ("Resources:\n" + FN + "}\n  R:\n    Type: AWS::Events::Rule\n    Properties: {ScheduleExpression: "
     "rate(5 fortnights), Targets: [{Id: a, Arn: !GetAtt Fn.Arn}]}\n",
     "R.ScheduleExpression: 'rate(5 fortnights)': expected rate(N unit) or cron(m h dom mon dow year)"),
    (SAM + "Resources:\n" + SAM_FN + ", Events: {T: {Type: Schedule, Properties: {Schedule: rate(5 fortnights)}}}}\n",
     "Fn.Events.T.Properties.Schedule: 'rate(5 fortnights)': expected rate(N unit) or cron(m h dom mon dow year)"),
    ("Resources:\n  Fn::ForEach::X:\n    - N\n    - [a]\n    - Q${N}: {Type: AWS::SQS::Queue}\n",
     "Transform: Fn::ForEach needs `Transform: AWS::LanguageExtensions` (before AWS::Serverless-2016-10-31), as "
     "CloudFormation requires"),
    ("Transform: MyMacro\nResources:\n  Q: {Type: AWS::SQS::Queue}\n",
     "Transform.MyMacro: macros are not run locally (the transforms read are AWS::Include, AWS::LanguageExtensions, "
     "AWS::Serverless-2016-10-31)"),
    ("Resources:\n  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: !Select [3, [a, b]]}}\n",
     "Q.QueueName: Fn::Select index 3 is out of range for a list of 2: ['a', 'b']"),
    ("Resources:\n  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: {'Fn::Upper': x}}}\n",
     "Q.QueueName: Fn::Upper is not an intrinsic function CloudFormation knows"),
    ("Resources:\n  Q: {Type: AWS::SQS::Queue}\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n"
     "      NotificationConfiguration:\n        QueueConfigurations: [{Event: 's3:ObjectCreated:*', Queue: !GetAtt "
     "Q.Arn, Filter: {S3Key: {Rules: [{Name: middle, Value: x}]}}}]\n",
     "B.NotificationConfiguration.QueueConfigurations[0].Filter: rule names ['middle']: S3 takes prefix and suffix"),
    (SAM + "Resources:\n  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: x\n"
     "      DefinitionBody: {'Fn::Transform': {Name: AWS::Include, Parameters: {Location: missing.yaml}}}\n",
     "Api.DefinitionBody: AWS::Include Location missing.yaml: no such file ({d}/missing.yaml)"),
    # the SAM transform's own refusals, one line per cause, in the user's names
    (SAM + "Resources:\n" + SAM_FN + ", Events: {A: {Type: SQS, Properties: {}}}}\n"
     "  G:\n    Type: AWS::Serverless::Function\n    Properties: {Handler: app.handler, CodeUri: fn/, Runtime: "
     "python3.12, Bogus: 1}\n",
     "Fn.Events.A: Missing required property 'Queue'. (AWS's SAM transform refuses this at deploy)\n"
     "G: property Bogus not defined for resource of type AWS::Serverless::Function (AWS's SAM transform refuses this "
     "at deploy)"),
    (SAM + "Resources:\n" + SAM_FN + ", Layers: arn:aws:lambda:us-east-1:1:layer:x:1}\n",
     "Fn: Type of property 'Layers' is invalid. (AWS's SAM transform refuses this at deploy)"),
    (SAM + "Resources:\n" + SAM_FN + ", Events: nope}\n",
     "Fn: Type of property 'Events' is invalid. (AWS's SAM transform refuses this at deploy)"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_a_refused_template_says_where_and_what_in_one_line(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def handler(e, c):\n    return e\n")
    path = tmp_path / "template.yaml"
    path.write_text(text)
    with pytest.raises(LightboxError) as err:
        load_template(path, data_dir=tmp_path / "data")
    assert str(err.value) == expected.format(t=path, d=tmp_path)


def test_an_override_of_a_parameter_the_template_lacks_is_taken_as_sam_cli_takes_it_and_said(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text("Parameters:\n  Env: {Type: String, Default: dev}\nResources:\n"
                    "  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub '${Stage}-q'}}\n")
    t = load_template(path, parameter_overrides={"Stage": "prod"})
    assert set(t.queues) == {"prod-q"}
    assert [f.line() for f in t.shown()] == [
        "Parameters.Stage (--parameter-overrides): the template does not declare it; AWS would refuse the value at "
        "deploy (taken here, as SAM CLI takes it)"]


def test_what_cannot_be_evaluated_outside_what_runs_is_left_out_and_said(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text("Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n"
                    "      RoleName: r\n      Tags: [{Key: a, Value: !Ref Nope}]\n")
    t = load_template(path)
    assert t.resources["Role"].properties == {"RoleName": "r", "Tags": [{"Key": "a"}]}
    assert [f.line() for f in t.shown()] == [
        "Role (AWS::IAM::Role): Tags[0].Value: Ref Nope names no parameter or resource of this template; AWS would "
        "refuse this template at deploy (left out here)"]


def test_a_missing_template_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(LightboxError) as err:
        load_template(tmp_path / "nope.yaml")
    assert str(err.value) == f"{tmp_path / 'nope.yaml'}: template not found; pass -t PATH or run where template.yaml is"
