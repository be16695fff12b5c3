"""load_settings caches on the environment it reads, and a changed variable is seen at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from photolib.config import load_settings, project_root


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


def test_a_relative_database_path_is_the_project_folders_whatever_the_working_folder(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]  # this checkout: template.yaml and layers/
    assert project_root() == root
    monkeypatch.chdir(tmp_path)  # as an environment runs in its function's own code folder
    assert load_settings(photos_db_path=".lightbox/photos.db").photos_db_path == str(root / ".lightbox/photos.db")
    monkeypatch.setenv("PHOTOS_DB_PATH", "data/p.db")
    assert load_settings().photos_db_path == str(root / "data/p.db")
    assert load_settings(photos_db_path="/srv/photos.db").photos_db_path == "/srv/photos.db"  # absolute: as given
