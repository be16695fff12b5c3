"""metadata (SQS): what the photo says about itself (camera, lens, exposure, time, place, colour).

Recorded as the (photo, metadata) stage result; the displayed width and height (after EXIF
orientation) also go on the photo row, where listings read them.
"""

from __future__ import annotations

from typing import Any

from photolib.metadata import extract_metadata
from photolib.models import Photo
from photolib.pipeline import Deps, StageOutput, run_stage


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_stage(event, context, "metadata", metadata)


def metadata(deps: Deps, photo: Photo, data: bytes) -> StageOutput:
    meta = extract_metadata(data, max_pixels=deps.settings.max_pixels)
    return StageOutput(
        result=meta.model_dump(mode="json"),
        photo_fields={"width": meta.width, "height": meta.height, "format": meta.format},
    )
