"""The testing kit's event factories give the shapes of the samples in events/ (AWS's own shapes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lightbox.testing import http_event, s3_put_event, schedule_event, sqs_event

EVENTS = Path(__file__).resolve().parents[3] / "events"


def shape(value: Any) -> Any:
    """Keys and value types, recursively: what a handler's parsing depends on, not the values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


@pytest.mark.parametrize(("sample", "event"), [
    ("s3-put.json", lambda: s3_put_event("photos", "originals/anonymous/photo-1", size=2048)),
    ("sqs.json", lambda: sqs_event("one", {"two": 2})),
    ("http.json", lambda: http_event("GET", "/photos")),
    ("photo-s3-put.json", lambda: s3_put_event("lightbox-photos", "originals/alice/p1", size=2048)),
    ("schedule.json", lambda: schedule_event()),
])
def test_factory_matches_the_sample_event(sample: str, event: Any) -> None:
    assert shape(event()) == shape(json.loads((EVENTS / sample).read_text()))


def test_factories_take_what_the_test_names() -> None:
    [record] = s3_put_event("b-1", "in/a b.jpg", size=7)["Records"]
    assert (record["s3"]["bucket"]["name"], record["s3"]["object"]["key"], record["s3"]["object"]["size"]) == (
        "b-1", "in/a+b.jpg", 7)  # keys form-encoded, as S3 sends them
    assert [json.loads(r["body"]) for r in sqs_event({"n": 1}, {"n": 2})["Records"]] == [{"n": 1}, {"n": 2}]
    http = http_event("GET", "/photos/p1", headers={"authorization": "Bearer t"}, path_parameters={"id": "p1"})
    assert (http["rawPath"], http["pathParameters"], http["headers"]["authorization"]) == ("/photos/p1", {"id": "p1"},
                                                                                       "Bearer t")
    assert schedule_event("nightly")["resources"] == ["arn:aws:events:us-east-1:000000000000:rule/nightly"]
