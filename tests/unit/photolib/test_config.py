"""load_settings caches on the environment it reads, and a changed variable is seen at once."""

from __future__ import annotations

import pytest

from photolib.config import load_settings


def test_settings_are_reused_until_a_variable_they_read_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOS_BUCKET", "first-bucket")
    first = load_settings()
    assert load_settings() is first and first.photos_bucket == "first-bucket"
    monkeypatch.setenv("UNRELATED_TO_SETTINGS", "x")  # not a variable Settings reads: same object
    assert load_settings() is first
    monkeypatch.setenv("PHOTOS_BUCKET", "second-bucket")
    assert load_settings().photos_bucket == "second-bucket"
    monkeypatch.setenv("aws_default_region", "eu-west-1")  # matched case-insensitively, aliases too
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert load_settings().aws_region == "eu-west-1"
    assert load_settings(photos_bucket="explicit").photos_bucket == "explicit"  # argument > environment
