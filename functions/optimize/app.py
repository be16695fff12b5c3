"""optimize (SQS): the web rendition (longest edge 2048 px by default) as progressive JPEG and
WebP, and a ThumbHash placeholder on the photo row for a blurred preview while images load."""

from __future__ import annotations

from typing import Any

from photolib.imaging import open_image, placeholder, web_renditions
from photolib.models import Derivative, Photo
from photolib.pipeline import Deps, StageOutput, derivative_prefix, run_stage

_EXTENSIONS = {"jpeg": "jpg", "webp": "webp"}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_stage(event, context, "optimize", optimize)


def optimize(deps: Deps, photo: Photo, data: bytes) -> StageOutput:
    edge = deps.settings.web_max_edge
    image = open_image(data, max_pixels=deps.settings.max_pixels, target_size=edge)
    files = []
    for name, r in web_renditions(image, max_edge=edge).items():
        key = f"{derivative_prefix(photo.client_id, photo.id)}web.{_EXTENSIONS[name]}"
        derivative = Derivative(photo_id=photo.id, kind=f"web_{name}", key=key, content_type=r.content_type,
                                width=r.width, height=r.height, size=len(r.data))
        files.append((derivative, r.data))
    hashed = placeholder(image)
    result: dict[str, Any] = {d.kind: {"width": d.width, "height": d.height, "bytes": d.size} for d, _ in files}
    result["placeholder"] = hashed
    return StageOutput(result=result, files=files, photo_fields={"placeholder": hashed})
