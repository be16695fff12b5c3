"""validate (SQS): is the original really an image we can process?

The format is sniffed from the bytes (not the name or the declared type), the header gives the
dimensions, the pixel limit refuses decompression bombs, and a reduced-scale decode catches a
truncated file here rather than three stages later.
"""

from __future__ import annotations

from typing import Any

from photolib.exceptions import InvalidPhoto
from photolib.imaging import open_image, probe
from photolib.models import Photo
from photolib.pipeline import Deps, StageOutput, run_stage

# Declared content type -> the format sniff_format() finds in such a file's bytes.
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF",
            "image/tiff": "TIFF", "image/heic": "HEIF", "image/heif": "HEIF"}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_stage(event, context, "validate", validate)


def validate(deps: Deps, photo: Photo, data: bytes) -> StageOutput:
    limit = deps.settings.max_pixels
    info = probe(data, max_pixels=limit)
    declared = _FORMATS.get(photo.content_type)
    if declared is not None and info.format != declared:
        # The original is served back with its declared type; a mislabelled file would be sniffed
        # (or refused) by browsers, so the client is told the type that fits its bytes.
        actual = next(ct for ct, fmt in _FORMATS.items() if fmt == info.format)
        raise InvalidPhoto(f"the file is {info.format} but was declared {photo.content_type}; "
                           f"upload it with content type {actual}")
    # Decoding at thumbnail scale is cheap (libjpeg DCT scaling) and finds data cut short.
    open_image(data, max_pixels=limit, target_size=max(deps.settings.thumbnail_sizes))
    result = {"format": info.format, "width": info.width, "height": info.height, "mode": info.mode,
              "frames": info.frames, "bytes": len(data)}
    return StageOutput(result=result, photo_fields={"format": info.format})
