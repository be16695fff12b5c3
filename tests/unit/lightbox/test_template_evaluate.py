"""CloudFormation's intrinsic functions and Conditions, evaluated as AWS evaluates them."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from lightbox.exceptions import TemplateError
from lightbox.template.attributes import stack_id
from lightbox.template.evaluate import Evaluator
from lightbox.template.intrinsics import NO_VALUE

STACK_ID = stack_id("us-east-1", "000000000000", "shop")


class Names:
    """A stack with parameters, one queue, and an export."""

    values: ClassVar[dict[str, Any]] = {"Env": "prod", "Zones": ["a", "b"], "AWS::Region": "us-east-1",
                              "AWS::StackId": STACK_ID, "AWS::StackName": "shop", "Count": 3}

    def ref(self, name: str, where: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name == "Jobs":
            return "http://127.0.0.1:3000/_lightbox/sqs/000000000000/jobs"
        raise TemplateError(where, "", f"Ref {name} names nothing")

    def get_att(self, resource: str, attribute: str, where: str) -> Any:
        return f"{resource}/{attribute}"

    def import_value(self, name: str, where: str) -> Any:
        if name == "vpc-id":
            return "vpc-123"
        raise TemplateError(where, "", f"no export {name}")


CONDITIONS = {
    "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
    "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
    "Both": {"Fn::And": [{"Condition": "IsProd"}, {"Fn::Equals": [{"Ref": "Count"}, "3"]}]},
    "Either": {"Fn::Or": [{"Condition": "IsDev"}, {"Fn::Equals": ["a", "b"]}]},
    "Loop": {"Condition": "Loop"},
}
MAPPINGS = {"Sizes": {"prod": {"Memory": 1024}, "dev": {"Memory": 128}}}


def ev(value: Any) -> Any:
    return Evaluator(Names(), CONDITIONS, MAPPINGS).resolve(value, "Fn.Prop")


@pytest.mark.parametrize(("value", "expected"), [
    ({"Fn::Sub": "${Env}-${AWS::Region}-${Queue.Arn}"}, "prod-us-east-1-Queue/Arn"),
    ({"Fn::Sub": "a-${!Literal}-${Env}"}, "a-${Literal}-prod"),
    ({"Fn::Sub": ["${A}/${Env}", {"A": {"Ref": "Jobs"}}]}, "http://127.0.0.1:3000/_lightbox/sqs/000000000000/jobs/prod"),
    ({"Fn::Sub": "${Child.Outputs.Url}"}, "Child/Outputs.Url"),
    ({"Fn::Join": [",", ["a", {"Ref": "Env"}, 5, True]]}, "a,prod,5,true"),
    ({"Fn::Join": ["-", {"Ref": "Zones"}]}, "a-b"),
    ({"Fn::Select": ["1", {"Ref": "Zones"}]}, "b"),
    ({"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}, STACK_ID.split("/")[2]),
    ({"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}, "shop"),
    ({"Fn::If": ["IsProd", "big", "small"]}, "big"),
    ({"Fn::If": ["IsDev", {"Ref": "Missing"}, "fine"]}, "fine"),  # the other branch is never evaluated
    ({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Memory"]}, 1024),
    ({"Fn::FindInMap": ["Sizes", "qa", "Memory", {"DefaultValue": 256}]}, 256),
    ({"Fn::Base64": {"Fn::Sub": "echo ${Env}"}}, "ZWNobyBwcm9k"),
    ({"Fn::GetAZs": ""}, ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]),
    ({"Fn::GetAZs": "eu-west-1"}, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
    ({"Fn::Cidr": ["10.0.0.0/16", 3, 8]}, ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]),
    ({"Fn::ImportValue": "vpc-id"}, "vpc-123"),
    ({"Fn::Length": {"Ref": "Zones"}}, 2),
    ({"Fn::ToJsonString": {"a": [1, {"Ref": "Env"}]}}, '{"a":[1,"prod"]}'),
    ({"Fn::GetAtt": ["Table", "StreamArn"]}, "Table/StreamArn"),
    ({"Fn::GetAtt": ["Table", {"Ref": "Env"}]}, "Table/prod"),  # CloudFormation allows a Ref as the attribute
    ({"Fn::Equals": ["3", {"Ref": "Count"}]}, True),  # compared as text, as CloudFormation does
])
def test_functions(value: Any, expected: Any) -> None:
    assert ev(value) == expected


def test_no_value_removes_the_key_or_the_item_at_any_depth() -> None:
    body = {"paths": {"/a": {"get": {"x": 1}}, "/b": {"Fn::If": ["IsDev", {"get": {}}, {"Ref": "AWS::NoValue"}]}},
            "list": [1, {"Ref": "AWS::NoValue"}, {"Fn::If": ["IsProd", 2, {"Ref": "AWS::NoValue"}]}]}
    assert ev(body) == {"paths": {"/a": {"get": {"x": 1}}}, "list": [1, 2]}
    assert ev({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_conditions_combine_and_are_evaluated_once() -> None:
    evaluator = Evaluator(Names(), CONDITIONS, MAPPINGS)
    assert [evaluator.condition(c, "x") for c in ("IsProd", "IsDev", "Both", "Either")] == [True, False, True, False]


@pytest.mark.parametrize(("value", "message"), [
    ({"Ref": "Missing"}, "Fn.Prop: Ref Missing names nothing"),
    ({"Fn::If": ["Nope", 1, 2]}, "Fn.Prop: names no condition of this template: 'Nope' (Conditions: Both, Either, "
                                 "IsDev, IsProd, Loop)"),
    ({"Fn::If": ["Loop", 1, 2]}, "Conditions.Loop: refers to itself through other conditions"),
    ({"Fn::Select": [5, ["a"]]}, "Fn.Prop: Fn::Select index 5 is out of range for a list of 1: ['a']"),
    ({"Fn::Select": ["x", ["a"]]}, "Fn.Prop: Fn::Select's index must be a number; got 'x'"),
    ({"Fn::Join": [",", "a"]}, "Fn.Prop: Fn::Join's second argument must be a list; got 'a'"),
    ({"Fn::Join": [","]}, "Fn.Prop: Fn::Join takes a list of 2 arguments; got [',']"),
    ({"Fn::Sub": "${Nope}"}, "Fn.Prop: Ref Nope names nothing"),
    ({"Fn::Sub": {"a": 1}}, "Fn.Prop: Fn::Sub takes a string; got {'a': 1}"),
    ({"Fn::FindInMap": ["Sizes", "qa", "Memory"]}, "Fn.Prop: Fn::FindInMap: Mappings has no Sizes.qa.Memory"),
    ({"Fn::ImportValue": "other"}, "Fn.Prop: no export other"),
    ({"Fn::Cidr": ["10.0.0.0/30", 4, 8]}, "Fn.Prop: Fn::Cidr: cannot cut 4 subnets of 8 host bits from 10.0.0.0/30"),
    ({"Fn::Length": "abc"}, "Fn.Prop: Fn::Length takes a list; got 'abc'"),
    ({"Fn::Contains": [["a"], "a"]}, "Fn.Prop: Fn::Contains is only valid in a template's Rules section"),
    ({"Fn::Transform": {"Name": "MyMacro"}}, "Fn.Prop: Fn::Transform MyMacro: macros are not run locally "
                                             "(AWS::Include is expanded when its Location is a local file)"),
    ({"Fn::Nope": 1}, "Fn.Prop: Fn::Nope is not an intrinsic function CloudFormation knows"),
    ({"Fn::Sub": "${Zones2}"}, "Fn.Prop: Ref Zones2 names nothing"),
    ({"Fn::Join": ["", [{"a": 1}]]}, "Fn.Prop: Fn::Join: the value is a mapping, not a string"),
])
def test_errors_name_the_property_and_what_is_wrong(value: Any, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        ev(value)
    assert str(err.value) == message
