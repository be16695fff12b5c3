"""validate (SQS): is the original really an image we can process?

The format is sniffed from the bytes (not the name or the declared type), the header gives the
dimensions, the pixel limit refuses decompression bombs, and a reduced-scale decode catches a
truncated file here rather than three stages later.
"""

from __future__ import annotations

from typing import Any

from photolib.imaging import open_image, probe
from photolib.models import Photo
from photolib.pipeline import Deps, StageOutput, run_stage


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_stage(event, "validate", validate)


def validate(deps: Deps, photo: Photo, data: bytes) -> StageOutput:
    limit = deps.settings.max_pixels
    info = probe(data, max_pixels=limit)
    # Decoding at thumbnail scale is cheap (libjpeg DCT scaling) and finds data cut short.
    open_image(data, max_pixels=limit, target_size=max(deps.settings.thumbnail_sizes))
    result = {"format": info.format, "width": info.width, "height": info.height, "mode": info.mode,
              "frames": info.frames, "bytes": len(data)}
    return StageOutput(result=result, photo_fields={"format": info.format})
