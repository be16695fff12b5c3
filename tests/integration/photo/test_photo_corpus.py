"""Every readable corpus photo goes through the whole pipeline: upright thumbnails, metadata."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from photo_harness import CORPUS, PhotoEnv
from PIL import Image, ImageChops, ImageStat

PHOTOS = sorted(p for folder in ("exif", "orientation", "mobile") for p in (CORPUS / folder).iterdir()
                if p.suffix.lower() in (".jpg", ".heic"))
CONTENT_TYPES = {".jpg": "image/jpeg", ".heic": "image/heic"}


def thumbnail(env: PhotoEnv, photo_id: str, kind: str) -> Image.Image:
    [d] = [d for d in env.repo.derivatives(photo_id) if d.kind == kind]
    return Image.open(io.BytesIO(env.s3.get_object(Bucket=env.bucket, Key=d.key)["Body"].read()))


def process(env: PhotoEnv, path: Path) -> str:
    photo_id = env.upload_via_post(path, CONTENT_TYPES[path.suffix.lower()])
    env.fn("ingest").handler(env.bucket_event(photo_id), None)
    env.run_queues()
    return photo_id


@pytest.mark.slow
@pytest.mark.parametrize("path", PHOTOS, ids=[f"{p.parent.name}/{p.name}" for p in PHOTOS])
def test_corpus_photo_completes_with_every_derivative(photo_env: PhotoEnv, path: Path) -> None:
    photo_id = process(photo_env, path)
    photo = photo_env.repo.get(photo_id)
    assert photo is not None and photo.status == "completed", photo
    kinds = {d.kind: d for d in photo_env.repo.derivatives(photo_id)}
    assert sorted(kinds) == ["thumb_150", "thumb_300", "thumb_600", "web_jpeg", "web_webp"]
    meta = photo_env.repo.stage_results(photo_id)["metadata"]
    assert (photo.width, photo.height) == (meta["width"], meta["height"])
    for size in (150, 300, 600):
        d = kinds[f"thumb_{size}"]
        assert max(d.width, d.height) == min(size, max(meta["width"], meta["height"]))
        # Upright: the thumbnail has the photo's displayed (EXIF-oriented) aspect.
        assert (d.width >= d.height) == (meta["width"] >= meta["height"])


@pytest.mark.slow
def test_orientation_set_looks_the_same_once_upright(photo_env: PhotoEnv) -> None:
    folder = CORPUS / "orientation"
    for shape in ("Landscape", "Portrait"):
        ids = {n: process(photo_env, folder / f"{shape}_{n}.jpg") for n in range(9)}
        reference = thumbnail(photo_env, ids[1], "thumb_150").convert("L")
        for n, photo_id in ids.items():
            thumb = thumbnail(photo_env, photo_id, "thumb_150").convert("L")
            assert thumb.size == reference.size, (shape, n)
            diff = ImageStat.Stat(ImageChops.difference(thumb, reference)).mean[0]
            assert diff < 10, f"{shape}_{n} differs from {shape}_1 by {diff:.1f} grey levels: not upright?"


def test_camera_metadata_matches_the_exif(photo_env: PhotoEnv) -> None:
    photo_id = process(photo_env, CORPUS / "exif" / "Canon_40D.jpg")
    meta = photo_env.repo.stage_results(photo_id)["metadata"]
    assert (meta["camera_make"], meta["camera_model"]) == ("Canon", "Canon EOS 40D")
    assert meta["taken_at"].startswith("2008-05-30T15:56:01")
    assert meta["iso"] == 100 and meta["f_number"] == pytest.approx(7.1)
