"""`lightbox up` as a user runs it: embedded services, the photo app, every corpus file through a
presigned POST, then Ctrl-C stops every process it started."""

from __future__ import annotations

import time
from io import BytesIO
from pathlib import Path

import pytest
import requests
from PIL import Image

from lightbox.template.loader import load_template
from photolib import auth as photo_auth

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
FILES = sorted(p for d in ("exif", "orientation", "mobile", "invalid") for p in (CORPUS / d).iterdir()
               if p.suffix.lower() in (".jpg", ".heic"))
# The token `python -m photolib.auth issue alice` prints for this template.
SECRET = load_template(ROOT / 'template.yaml').function('UploadFunction').environment['TOKEN_SECRET']
AUTH = {"Authorization": f"Bearer {photo_auth.issue('alice', SECRET)}"}
TYPES = {".jpg": "image/jpeg", ".heic": "image/heic"}
# What these cameras wrote, as exiftool reads it: the pipeline's metadata must say the same.
EXIF = {
    "Canon_40D.jpg": {"camera_make": "Canon", "camera_model": "Canon EOS 40D", "iso": 100, "f_number": 7.1,
                      "exposure_time": "1/160", "focal_length": 135.0, "taken_at": "2008-05-30T15:56:01"},
    "DSCN0010.jpg": {"camera_make": "NIKON", "camera_model": "COOLPIX P6000", "gps_latitude": 43.4674483,
                     "gps_longitude": 11.8851267},
    "IMG_5195.HEIC": {"camera_make": "Apple", "camera_model": "iPhone 11 Pro Max", "format": "HEIF",
                      "taken_at": "2021-04-11T15:47:53.054-05:00", "gps_longitude": -94.2887722},
    "Portrait_6.jpg": {"orientation": 6, "width": 1200, "height": 1800},
}


def upload(url: str, path: Path) -> str:
    created = requests.post(f"{url}/uploads", json={"filename": path.name, "content_type": TYPES[path.suffix.lower()],
                                                    "size": path.stat().st_size}, headers=AUTH, timeout=10)
    assert created.status_code in (200, 201), created.text
    body = created.json()
    post = body["upload"]["post"]
    sent = requests.post(post["url"], data=post["fields"],
                         files={"file": (path.name, path.read_bytes(), TYPES[path.suffix.lower()])}, timeout=30)
    assert sent.status_code in (200, 201, 204), sent.text
    return str(body["photo"]["id"])


def test_every_corpus_file_ends_completed_or_failed_with_a_reason(stack: str) -> None:
    ids = {upload(stack, p): p for p in FILES}
    final: dict[str, dict] = {}  # type: ignore[type-arg]
    deadline = time.monotonic() + 240
    while len(final) < len(ids) and time.monotonic() < deadline:
        for pid in set(ids) - set(final):
            record = requests.get(f"{stack}/photos/{pid}", headers=AUTH, timeout=10).json()
            if record["photo"]["status"] in ("completed", "failed"):
                final[pid] = record
        time.sleep(0.3)
    assert len(final) == len(ids), f"stuck: {[ids[p].name for p in set(ids) - set(final)]}"
    for pid, record in final.items():
        photo = record["photo"]
        if photo["status"] == "failed":
            assert photo["failure_reason"], ids[pid]
            continue
        thumbs = {k: v for k, v in record["derivatives"].items() if k.startswith("thumb_")}
        assert set(thumbs) == {"thumb_150", "thumb_300", "thumb_600"}, ids[pid]
        image = Image.open(BytesIO(requests.get(thumbs["thumb_300"]["url"], timeout=10).content))
        assert max(image.size) <= 300
        if ids[pid].parent.name == "orientation" and ids[pid].stem.split("_")[1] != "0":
            # Every orientation variant comes out upright: landscape stays wider than tall.
            landscape = ids[pid].stem.startswith("Landscape")
            assert (image.width > image.height) == landscape, ids[pid].name
        for key, value in EXIF.get(ids[pid].name, {}).items():
            assert record["metadata"][key] == pytest.approx(value), (ids[pid].name, key)
    completed = [ids[p].name for p, r in final.items() if r["photo"]["status"] == "completed"]
    assert set(EXIF) <= set(completed)
    failed = {ids[p].name: r["photo"]["failure_reason"] for p, r in final.items() if r["photo"]["status"] == "failed"}
    assert set(failed) <= {p.name for p in FILES if p.parent.name == "invalid"}, failed  # only broken files fail


def test_a_non_image_fails_with_a_readable_reason(stack: str, tmp_path: Path) -> None:
    fake = tmp_path / "page.jpg"
    fake.write_bytes(b"<!doctype html><html><body>not a photo</body></html>")
    pid = upload(stack, fake)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        photo = requests.get(f"{stack}/photos/{pid}", headers=AUTH, timeout=10).json()["photo"]
        if photo["status"] in ("completed", "failed"):
            break
        time.sleep(0.2)
    assert photo["status"] == "failed" and "HTML" in photo["failure_reason"]
