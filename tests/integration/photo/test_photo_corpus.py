"""Every readable corpus photo goes through the whole pipeline, as template.yaml wires it on the
lightbox plugin: upright thumbnails, metadata."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from photo_harness import CORPUS, PhotoApp
from PIL import Image, ImageChops, ImageStat

PHOTOS = sorted(p for folder in ("exif", "orientation", "mobile") for p in (CORPUS / folder).iterdir()
                if p.suffix.lower() in (".jpg", ".heic"))
CONTENT_TYPES = {".jpg": "image/jpeg", ".heic": "image/heic"}


def thumbnail(app: PhotoApp, photo_id: str, kind: str) -> Image.Image:
    [d] = [d for d in app.repo.derivatives(photo_id) if d.kind == kind]
    return Image.open(io.BytesIO(app.blob(d.key)))


def process(app: PhotoApp, path: Path) -> str:
    return app.upload_via_post(path, CONTENT_TYPES[path.suffix.lower()])  # bucket event, ingest, every stage


@pytest.mark.slow
@pytest.mark.parametrize("path", PHOTOS, ids=[f"{p.parent.name}/{p.name}" for p in PHOTOS])
def test_corpus_photo_completes_with_every_derivative(photo_app: PhotoApp, path: Path) -> None:
    photo_id = process(photo_app, path)
    photo = photo_app.repo.get(photo_id)
    assert photo is not None and photo.status == "completed", photo
    kinds = {d.kind: d for d in photo_app.repo.derivatives(photo_id)}
    assert sorted(kinds) == ["thumb_150", "thumb_300", "thumb_600", "web_jpeg", "web_webp"]
    meta = photo_app.repo.stage_results(photo_id)["metadata"]
    assert (photo.width, photo.height) == (meta["width"], meta["height"])
    for size in (150, 300, 600):
        d = kinds[f"thumb_{size}"]
        assert max(d.width, d.height) == min(size, max(meta["width"], meta["height"]))
        # Upright: the thumbnail has the photo's displayed (EXIF-oriented) aspect.
        assert (d.width >= d.height) == (meta["width"] >= meta["height"])


@pytest.mark.slow
def test_orientation_set_looks_the_same_once_upright(photo_app: PhotoApp) -> None:
    folder = CORPUS / "orientation"
    for shape in ("Landscape", "Portrait"):
        ids = {n: process(photo_app, folder / f"{shape}_{n}.jpg") for n in range(9)}
        reference = thumbnail(photo_app, ids[1], "thumb_150").convert("L")
        for n, photo_id in ids.items():
            thumb = thumbnail(photo_app, photo_id, "thumb_150").convert("L")
            assert thumb.size == reference.size, (shape, n)
            diff = ImageStat.Stat(ImageChops.difference(thumb, reference)).mean[0]
            assert diff < 10, f"{shape}_{n} differs from {shape}_1 by {diff:.1f} grey levels: not upright?"


def test_camera_metadata_matches_the_exif(photo_app: PhotoApp) -> None:
    photo_id = process(photo_app, CORPUS / "exif" / "Canon_40D.jpg")
    meta = photo_app.repo.stage_results(photo_id)["metadata"]
    assert (meta["camera_make"], meta["camera_model"]) == ("Canon", "Canon EOS 40D")
    assert meta["taken_at"].startswith("2008-05-30T15:56:01")
    assert meta["iso"] == 100 and meta["f_number"] == pytest.approx(7.1)
