"""What a photo says about itself: size, format, colour, camera, lens, exposure, time and place.

EXIF is written by thousands of firmwares and edited by as many tools, so every field is read on
its own: one that cannot be parsed becomes None (logged at debug) and never fails the photo.
Only bytes that are not an image at all raise InvalidPhoto.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from PIL import ExifTags, Image, ImageCms
from pydantic import BaseModel, ConfigDict

from photolib.imaging import open_header, pillow_warnings_logged, sniff_format

log = logging.getLogger(__name__)

T = TypeVar("T")

Tag = ExifTags.Base
GPS = ExifTags.GPS


class PhotoMetadata(BaseModel):
    """Metadata of one photo. Only width, height and format are always known.

    width and height are the displayed size, after EXIF orientation (what Immich stores and what
    the thumbnails have): a portrait photo stored sideways with Orientation 6 reports width < height.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    width: int
    height: int
    format: str
    mode: str | None = None
    icc_profile: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    taken_at: str | None = None
    iso: int | None = None
    f_number: float | None = None
    exposure_time: str | None = None
    exposure_seconds: float | None = None
    focal_length: float | None = None
    gps_latitude: float | None = None
    gps_longitude: float | None = None
    gps_altitude: float | None = None
    orientation: int | None = None


@pillow_warnings_logged()
def extract_metadata(data: bytes, *, max_pixels: int) -> PhotoMetadata:
    """Read the header and EXIF of ``data`` (no pixel decode). InvalidPhoto if it is not an image."""
    fmt = sniff_format(data)
    image = open_header(data, max_pixels=max_pixels)
    base: Mapping[int, Any] = _safe(image.getexif, "EXIF") or {}
    exif: Mapping[int, Any] = _safe(lambda: image.getexif().get_ifd(ExifTags.IFD.Exif), "Exif IFD") or {}
    gps: Mapping[int, Any] = _safe(lambda: image.getexif().get_ifd(ExifTags.IFD.GPSInfo), "GPS IFD") or {}

    orientation = _safe(lambda: _orientation(base.get(Tag.Orientation)), "Orientation")
    width, height = image.size
    if orientation in (5, 6, 7, 8):  # these rotate by 90 degrees: the stored width is the height
        width, height = height, width
    latitude = _safe(lambda: _coordinate(gps, GPS.GPSLatitude, GPS.GPSLatitudeRef, "S", 90), "latitude")
    longitude = _safe(lambda: _coordinate(gps, GPS.GPSLongitude, GPS.GPSLongitudeRef, "W", 180), "longitude")
    if latitude == 0 and longitude == 0:
        # 0,0 is in the Gulf of Guinea; cameras write it when they had no fix (Immich drops it too).
        latitude = longitude = None
    exposure = _safe(lambda: _number(exif.get(Tag.ExposureTime)), "ExposureTime")
    return PhotoMetadata(
        width=width,
        height=height,
        format=fmt,
        mode=image.mode,
        icc_profile=_safe(lambda: _icc_description(image), "ICC profile"),
        camera_make=_safe(lambda: _text(base.get(Tag.Make)), "Make"),
        camera_model=_safe(lambda: _text(base.get(Tag.Model)), "Model"),
        lens=_safe(lambda: _text(exif.get(Tag.LensModel)), "LensModel"),
        taken_at=_safe(lambda: _taken_at(base, exif), "DateTimeOriginal"),
        iso=_safe(lambda: _iso(exif.get(Tag.ISOSpeedRatings)), "ISO"),
        f_number=_safe(lambda: _number(exif.get(Tag.FNumber)), "FNumber"),
        exposure_time=_safe(lambda: _shutter(exposure), "ExposureTime"),
        exposure_seconds=exposure,
        focal_length=_safe(lambda: _number(exif.get(Tag.FocalLength)), "FocalLength"),
        gps_latitude=latitude,
        gps_longitude=longitude,
        gps_altitude=_safe(lambda: _altitude(gps), "GPSAltitude"),
        orientation=orientation,
    )


def _safe(read: Callable[[], T | None], what: str) -> T | None:
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - untrusted EXIF: any failure means "unknown"
        log.debug("ignoring unreadable %s: %r", what, exc)
        return None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    # Fixed-width EXIF strings come padded with spaces or NULs ("PENTAX Corporation  ").
    cleaned = " ".join(value.replace("\x00", " ").split())
    return cleaned or None


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, tuple | list):
        value = value[0]
    number = float(value)  # type: ignore[arg-type]  # IFDRational, int or float
    # A zero denominator gives nan; firmwares also write 0 for "unknown".
    return number if math.isfinite(number) and number > 0 else None


def _iso(value: object) -> int | None:
    number = _number(value)
    return round(number) if number is not None else None


def _shutter(seconds: float | None) -> str | None:
    """1/250 for fast shutters, as cameras print them; 2 or 2.5 (seconds) for slow ones."""
    if seconds is None:
        return None
    if seconds < 1:
        return f"1/{round(1 / seconds)}"
    return f"{seconds:g}"


def _orientation(value: object) -> int | None:
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _taken_at(base: Mapping[int, Any], exif: Mapping[int, Any]) -> str | None:
    """ISO 8601 capture time; with its UTC offset when the camera recorded one (EXIF 2.31+)."""
    for stamp_tag, offset_tag, subsec_tag in (
        (Tag.DateTimeOriginal, Tag.OffsetTimeOriginal, Tag.SubsecTimeOriginal),
        (Tag.DateTimeDigitized, Tag.OffsetTimeDigitized, Tag.SubsecTimeDigitized),
    ):
        stamp = _text(exif.get(stamp_tag))
        if stamp:
            return _iso_time(stamp, _text(exif.get(offset_tag)), _text(exif.get(subsec_tag)))
    # IFD0 DateTime is when the file was last changed, often by an editor: the last resort.
    stamp = _text(base.get(Tag.DateTime))
    return _iso_time(stamp, _text(exif.get(Tag.OffsetTime)), None) if stamp else None


def _iso_time(stamp: str, offset: str | None, subsec: str | None) -> str | None:
    try:
        moment = datetime.strptime(stamp[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        log.debug("ignoring unparseable EXIF date %r", stamp)  # e.g. "0000:00:00 00:00:00"
        return None
    if subsec and subsec.isdigit():
        moment = moment.replace(microsecond=int(subsec[:6].ljust(6, "0")))
    if offset:
        try:
            moment = datetime.fromisoformat(moment.isoformat() + offset)
        except ValueError:
            log.debug("ignoring unparseable EXIF offset %r", offset)
    # Sub-second digits are at most milliseconds in practice; keep "…:53.054", not "…:53.054000".
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")


def _coordinate(gps: Mapping[int, Any], tag: int, ref_tag: int, negative: str, limit: int) -> float | None:
    value = gps.get(tag)
    if not value:
        return None
    degrees, minutes, seconds = (float(part) for part in value)
    decimal = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(decimal) or decimal > limit:
        return None
    ref = _text(gps.get(ref_tag))
    return round(-decimal if ref and ref.upper().startswith(negative) else decimal, 7)


def _altitude(gps: Mapping[int, Any]) -> float | None:
    value = gps.get(GPS.GPSAltitude)
    if value is None:
        return None
    altitude = float(value)
    if not math.isfinite(altitude):
        return None
    # GPSAltitudeRef is a BYTE: 1 means below sea level.
    ref = gps.get(GPS.GPSAltitudeRef)
    below = ref in (1, b"\x01") or (isinstance(ref, bytes) and ref[:1] == b"\x01")
    return round(-altitude if below else altitude, 3)


def _icc_description(image: Image.Image) -> str | None:
    icc = image.info.get("icc_profile")
    if not icc:
        return None
    return _text(ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))))
