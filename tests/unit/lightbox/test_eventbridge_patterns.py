"""The event-pattern matcher, operator by operator, on the examples of AWS's EventBridge and Lambda docs."""

from __future__ import annotations

from typing import Any

import pytest

from lightbox.eventbridge.patterns import InvalidPattern, Pattern, matches, parse

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "state": "terminated",
        "c-count": 5,
        "d-count": 0.5,
        "flagged": True,
        "nothing": None,
        "empty": "",
        "source-ip": "10.0.0.123",
        "FileName": "dir/Report.PNG",
        "tags": ["blue", "green"],
        "items": [{"sku": "a-1", "qty": 2}, {"sku": "b-2", "qty": 7}],
    },
}


def m(pattern: dict[str, Any]) -> bool:
    return matches(pattern, EVENT)


@pytest.mark.parametrize(("pattern", "expected"), [
    ({"source": ["aws.ec2"]}, True),
    ({"source": ["aws.s3", "aws.ec2"]}, True),
    ({"source": ["aws.s3"]}, False),
    ({"detail": {"state": ["terminated"]}}, True),
    ({"detail": {"state": ["running"]}}, False),
    ({"detail": {"c-count": [5]}}, True),
    ({"detail": {"c-count": ["5"]}}, False),
    ({"detail": {"missing": ["x"]}}, False),
    ({"detail": {"state": ["terminated"], "c-count": [6]}}, False),
    ({}, True),
])
def test_exact_values_and_fields_and_ed(pattern: dict[str, Any], expected: bool) -> None:
    assert m(pattern) is expected


def test_null_and_empty_string_are_values_of_their_own() -> None:
    assert m({"detail": {"nothing": [None]}})
    assert m({"detail": {"empty": [""]}})
    assert not m({"detail": {"empty": [None]}})
    assert not m({"detail": {"missing": [None]}})


def test_booleans_are_not_numbers() -> None:
    assert m({"detail": {"flagged": [True]}})
    assert not m({"detail": {"flagged": [1]}})
    assert not m({"detail": {"flagged": [{"numeric": [">", 0]}]}})
    assert not m({"detail": {"c-count": [True]}})


def test_an_array_in_the_event_matches_when_any_element_does() -> None:
    assert m({"detail": {"tags": ["green"]}})
    assert not m({"detail": {"tags": ["red"]}})
    assert m({"resources": [{"prefix": "arn:aws:ec2:"}]})


def test_an_array_of_objects_is_matched_element_by_element() -> None:
    assert m({"detail": {"items": {"sku": ["b-2"]}}})
    assert m({"detail": {"items": {"qty": [{"numeric": [">", 5]}]}}})
    assert not m({"detail": {"items": {"sku": ["c-3"]}}})


def test_prefix_and_suffix_with_and_without_case() -> None:
    assert m({"detail": {"state": [{"prefix": "term"}]}})
    assert not m({"detail": {"state": [{"prefix": "TERM"}]}})
    assert m({"detail": {"state": [{"prefix": {"equals-ignore-case": "TERM"}}]}})
    assert m({"detail": {"FileName": [{"suffix": ".PNG"}]}})
    assert not m({"detail": {"FileName": [{"suffix": ".png"}]}})
    assert m({"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}})
    assert not m({"detail": {"c-count": [{"prefix": "5"}]}})


def test_equals_ignore_case() -> None:
    assert m({"detail": {"state": [{"equals-ignore-case": "TERMINATED"}]}})
    assert not m({"detail": {"state": [{"equals-ignore-case": "RUNNING"}]}})


def test_anything_but() -> None:
    assert m({"detail": {"state": [{"anything-but": "running"}]}})
    assert not m({"detail": {"state": [{"anything-but": "terminated"}]}})
    assert not m({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}})
    assert m({"detail": {"c-count": [{"anything-but": [1, 2, 3]}]}})
    assert not m({"detail": {"c-count": [{"anything-but": 5}]}})
    assert not m({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}})
    assert m({"detail": {"state": [{"anything-but": {"prefix": "run"}}]}})
    assert not m({"detail": {"FileName": [{"anything-but": {"suffix": ".PNG"}}]}})
    assert not m({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["X", "TERMINATED"]}}]}})
    assert not m({"detail": {"state": [{"anything-but": {"wildcard": "term*"}}]}})
    assert not m({"detail": {"missing": [{"anything-but": "x"}]}}), "a missing field is not anything-but"


def test_numeric_comparisons_and_ranges() -> None:
    assert m({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}})
    assert not m({"detail": {"c-count": [{"numeric": [">", 5]}]}})
    assert m({"detail": {"d-count": [{"numeric": ["<", 10]}]}})
    assert m({"detail": {"c-count": [{"numeric": ["=", 5]}]}})
    assert m({"detail": {"c-count": [{"numeric": [">=", 5]}]}})
    assert not m({"detail": {"state": [{"numeric": [">", 0]}]}})


def test_exists() -> None:
    assert m({"detail": {"state": [{"exists": True}]}})
    assert not m({"detail": {"missing": [{"exists": True}]}})
    assert m({"detail": {"missing": [{"exists": False}]}})
    assert not m({"detail": {"state": [{"exists": False}]}})


def test_wildcard() -> None:
    assert m({"detail": {"FileName": [{"wildcard": "dir/*.PNG"}]}})
    assert not m({"detail": {"FileName": [{"wildcard": "dir/*.png"}]}})
    assert m({"detail": {"instance-id": [{"wildcard": "i-*"}]}})


def test_cidr() -> None:
    assert m({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}})
    assert not m({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}})


def test_or_between_fields() -> None:
    assert m({"$or": [{"source": ["aws.s3"]}, {"detail": {"c-count": [5]}}]})
    assert m({"detail": {"$or": [{"state": ["running"]}, {"c-count": [{"numeric": [">", 1]}]}]}})
    assert not m({"$or": [{"source": ["aws.s3"]}, {"detail": {"c-count": [6]}}]})


def test_several_values_for_a_field_are_ored() -> None:
    assert m({"detail": {"state": [{"prefix": "run"}, "terminated"]}})


def test_sqs_filter_criteria_shape() -> None:
    record = {"body": {"RequestCode": "BBBB", "Amount": 12}, "messageAttributes": {}}
    assert matches({"body": {"RequestCode": ["BBBB"]}}, record)
    assert not matches({"body": {"Amount": [{"numeric": [">", 100]}]}}, record)


def test_json_text_and_parsed_patterns_are_accepted() -> None:
    assert matches('{"source": ["aws.ec2"]}', EVENT)
    parsed = parse({"source": ["aws.ec2"]})
    assert isinstance(parsed, Pattern) and parsed.matches(EVENT)
    assert parse(parsed) is parsed


@pytest.mark.parametrize(("pattern", "why"), [
    ("{not json", "not JSON"),
    ("[1]", "JSON object"),
    ({"source": "aws.ec2"}, "source: must be an object or an array"),
    ({"source": []}, "Empty arrays are not allowed"),
    ({"source": [{"starts-with": "a"}]}, "unknown operator 'starts-with'"),
    ({"source": [{"prefix": "a", "suffix": "b"}]}, "one operator"),
    ({"detail": {"n": [{"numeric": [">", "5"]}]}}, "detail.n: numeric takes"),
    ({"n": [{"numeric": ["<", 5, ">", 1]}]}, "numeric takes"),
    ({"n": [{"numeric": [">", 9, "<", 1]}]}, "numeric takes"),
    ({"n": [{"exists": "yes"}]}, "exists takes true or false"),
    ({"n": [{"prefix": 5}]}, "prefix takes a string"),
    ({"n": [{"anything-but": {"numeric": [">", 1]}}]}, "anything-but takes"),
    ({"n": [{"anything-but": [True]}]}, "anything-but takes a list"),
    ({"$or": [{"a": ["x"]}]}, "$or takes a list of at least two"),
    ({"n": [["nested"]]}, "a match value is"),
])
def test_a_pattern_aws_refuses_is_refused_with_where_and_why(pattern: Any, why: str) -> None:
    with pytest.raises(InvalidPattern) as e:
        parse(pattern)
    assert why in str(e.value)
    assert str(e.value).startswith("Event pattern is not valid.")
