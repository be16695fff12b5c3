"""Pure code: upload input validation, the routing slip, events, settings precedence."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from photolib.config import DEFAULT_PIPELINE, Settings
from photolib.exceptions import ConfigurationError
from photolib.models import EventType, Photo, PhotoEvent, StageMessage, UploadRequest, valid_client_id
from photolib.pipeline import original_key, parse_original_key


def upload(**kw: object) -> UploadRequest:
    data = {"filename": "IMG_0001.jpg", "content_type": "image/jpeg", "size": 1000, **kw}
    return UploadRequest.model_validate(data, context={"max_upload_bytes": 10_000})


def test_valid_upload_keeps_a_trimmed_display_name() -> None:
    u = upload(filename="  Holiday photo é.JPG ", content_type="IMAGE/JPEG; charset=binary")
    assert u.filename == "Holiday photo é.JPG"
    assert u.content_type == "image/jpeg"


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b.jpg", "C:\\x\\y.jpg", "bad\x00.jpg", "tab\there.jpg", "", "  ",
                                  ".."])
def test_path_like_or_control_filenames_are_refused(name: str) -> None:
    with pytest.raises(ValidationError) as exc:
        upload(filename=name)
    assert exc.value.errors()[0]["loc"] == ("filename",)


def test_unsupported_content_type_names_what_is_accepted() -> None:
    with pytest.raises(ValidationError) as exc:
        upload(content_type="application/pdf")
    msg = str(exc.value)
    assert "application/pdf" in msg and "image/heic" in msg


@pytest.mark.parametrize("ct", ["image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff", "image/heic",
                                "image/heif"])
def test_every_supported_type_is_accepted(ct: str) -> None:
    assert upload(content_type=ct).content_type == ct


@pytest.mark.parametrize("size", [0, -1, 10_001])
def test_size_outside_one_to_limit_is_refused(size: int) -> None:
    with pytest.raises(ValidationError, match="size"):
        upload(size=size)


def test_client_ids_are_key_safe() -> None:
    assert valid_client_id("alice_01-x")
    assert not valid_client_id("../bob")
    assert not valid_client_id("")


def _photo() -> Photo:
    return Photo(id="a" * 32, client_id="alice", filename="x.jpg", content_type="image/jpeg",
                 declared_size=10, key=original_key("alice", "a" * 32), session_id="s1")


def test_routing_slip_walks_the_pipeline_then_ends() -> None:
    msg = StageMessage.first(_photo())
    seen = []
    current: StageMessage | None = msg
    while current is not None:
        seen.append(current.stage)
        current = current.next()
    assert seen == list(DEFAULT_PIPELINE)
    assert msg.step == 0  # next() copies; the message in hand is unchanged


def test_routing_slip_survives_json_round_trip_with_a_custom_pipeline() -> None:
    msg = StageMessage.first(_photo(), pipeline=("validate", "optimize"))
    again = StageMessage.model_validate_json(msg.model_dump_json()).next()
    assert again is not None and again.stage == "optimize" and again.next() is None


def test_event_carries_photo_client_and_trace() -> None:
    photo = _photo()
    event = PhotoEvent.about(EventType.STAGE_COMPLETED, photo, stage="validate")
    body = event.model_dump(mode="json")
    assert body["type"] == "photo.stage.completed"
    assert body["data"] == {"photo_id": photo.id, "stage": "validate"}
    assert body["metadata"] == {"client_id": "alice", "session_id": "s1", "trace_id": photo.trace_id, "version": 1}
    assert set(body) == {"id", "type", "data", "metadata", "timestamp"}


def test_original_keys_round_trip_and_strangers_do_not_parse() -> None:
    assert parse_original_key(original_key("alice", "b" * 32)) == ("alice", "b" * 32)
    assert parse_original_key("originals/alice/../x") is None
    assert parse_original_key("derivatives/alice/" + "b" * 32) is None


def test_settings_precedence_argument_over_env_over_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHOTOS_BUCKET", raising=False)
    assert Settings().photos_bucket == "lightbox-photos"
    monkeypatch.setenv("PHOTOS_BUCKET", "from-env")
    assert Settings().photos_bucket == "from-env"
    assert Settings(photos_bucket="explicit").photos_bucket == "explicit"


def test_missing_queue_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METADATA_QUEUE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="METADATA_QUEUE_URL"):
        Settings().queue_url("metadata")
