"""thumbnails (SQS): fit-inside JPEG thumbnails (150/300/600 by default), upright, sRGB, no EXIF.

Each is stored at a fixed key per (photo, size), so a re-run overwrites the same blobs and rows.
"""

from __future__ import annotations

from typing import Any

from photolib.imaging import make_thumbnails, open_image
from photolib.models import Derivative, Photo
from photolib.pipeline import Deps, StageOutput, derivative_prefix, run_stage


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_stage(event, context, "thumbnails", thumbnails)


def thumbnails(deps: Deps, photo: Photo, data: bytes) -> StageOutput:
    sizes = deps.settings.thumbnail_sizes
    image = open_image(data, max_pixels=deps.settings.max_pixels, target_size=max(sizes))
    files = []
    for size, r in make_thumbnails(image, sizes).items():
        key = f"{derivative_prefix(photo.client_id, photo.id)}thumb_{size}.jpg"
        derivative = Derivative(photo_id=photo.id, kind=f"thumb_{size}", key=key, content_type=r.content_type,
                                width=r.width, height=r.height, size=len(r.data))
        files.append((derivative, r.data))
    result = {d.kind: {"width": d.width, "height": d.height, "bytes": d.size} for d, _ in files}
    return StageOutput(result=result, files=files)
