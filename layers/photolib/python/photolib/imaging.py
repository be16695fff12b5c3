"""Pillow operations on untrusted photo bytes: identify, open safely, orient, thumbnails, encodes.

Every way a file can be bad (not an image, damaged, truncated, too many pixels) comes out of this
module as InvalidPhoto with a reason a person can read; Pillow's own exceptions never escape.
"""

from __future__ import annotations

import base64
import io
import logging
import math
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pillow_heif
import thash
from PIL import Image, ImageCms, ImageFile, ImageOps

from photolib.exceptions import InvalidPhoto

log = logging.getLogger(__name__)

pillow_heif.register_heif_opener()

ACCEPTED = "JPEG, PNG, WebP, GIF, TIFF or HEIC"

# Everything Pillow and its plugins are known to raise on hostile or damaged input: OSError
# covers UnidentifiedImageError and "image file is truncated", SyntaxError is Pillow's "not a
# valid <format> header", ZeroDivisionError comes from malformed EXIF rationals.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    *(OSError, SyntaxError, ValueError, TypeError, IndexError, KeyError, EOFError, MemoryError),
    *(struct.error, ZeroDivisionError, Image.DecompressionBombError),
)

_MAGIC = (
    *((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF")),
    *((b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF")),
)
# ISO BMFF major brands that pillow-heif decodes as HEIF (HEVC stills and image sequences).
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_VIDEO_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"qt  ", b"avc1", b"3gp4", b"3gp5", b"M4V "}

# With a target size, a JPEG is decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling), the
# smallest that still covers target x _DRAFT_GAP; most of the thumbnail speed-up is here. 1.0 is
# what libvips' shrink-on-load does: the thumbnails differ from a full decode by ~1/255 on average,
# while 2.0 (Pillow's thumbnail() default) doubles the Lanczos work for no visible gain.
_DRAFT_GAP = 1.0

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    mode: str
    frames: int


@dataclass(frozen=True)
class Rendition:
    data: bytes
    width: int
    height: int
    content_type: str


@contextmanager
def pillow_warnings_logged() -> Iterator[None]:
    """Turn Pillow's warnings about hostile input into debug logs.

    DecompressionBombWarning (we enforce max_pixels ourselves, from the header), "Corrupt EXIF
    data", "Truncated File Read" in EXIF...: each is either already a reason we report or harmless,
    and under ``-W error`` a warning would escape as an exception with no reason attached.
    (catch_warnings swaps the process-wide filters: fine for one photo per process or thread.)
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        log.debug("Pillow: %s: %s", warning.category.__name__, warning.message)


def sniff_format(data: bytes) -> str:
    """The image format from the magic bytes: JPEG, PNG, WEBP, GIF, TIFF or HEIF.

    The file name and declared content type are the uploader's claims; the bytes are not.
    """
    head = data[:16]
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "HEIF"
        if brand in (b"avif", b"avis"):
            raise InvalidPhoto(f"AVIF images are not accepted yet; send {ACCEPTED}")
        if brand in _VIDEO_BRANDS:
            raise InvalidPhoto(f"not an image: the bytes look like a video (MP4/MOV); send {ACCEPTED}")
    raise InvalidPhoto(f"not an image: {_looks_like(data)}; send {ACCEPTED}")


def _looks_like(data: bytes) -> str:
    if not data:
        return "the file is empty"
    text = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "the bytes look like an SVG drawing (vector images are not accepted)"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "the bytes look like HTML (a web page, perhaps an error page saved instead of the photo)"
    if text.startswith(b"<?xml"):
        return "the bytes look like XML"
    if text.startswith(b"%pdf"):
        return "the bytes look like a PDF document"
    if data.startswith(b"PK\x03\x04"):
        return "the bytes look like a zip archive"
    if data.startswith(b"BM"):
        return "the bytes look like a BMP image, which is not accepted"
    return f"unrecognised content starting with {data[:8].hex(' ')}"


@pillow_warnings_logged()
def open_header(data: bytes, *, max_pixels: int) -> ImageFile.ImageFile:
    """Open the image lazily (header only, nothing decoded) and refuse it if it has too many pixels.

    Only the plugin for the sniffed format may parse the bytes, so a file cannot be read as a
    format it does not claim to be. ``image.format`` is Pillow's name (MPO for multi-picture JPEG).
    """
    fmt = sniff_format(data)
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError as exc:
        raise InvalidPhoto(_too_many_pixels(_size_despite_limit(data, fmt), max_pixels)) from exc
    except _DECODE_ERRORS as exc:
        raise InvalidPhoto(_reason(fmt, exc)) from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidPhoto(f"{fmt} image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise InvalidPhoto(_too_many_pixels(image.size, max_pixels))
    return image


def _size_despite_limit(data: bytes, fmt: str) -> tuple[int, int] | None:
    """The header size of an image Pillow refused as a bomb, to name it in the reason.

    Image.open refuses images over 2x Image.MAX_IMAGE_PIXELS before returning them; the format
    plugin on its own reads the same header without that check (and still decodes nothing).
    """
    try:
        factory, _accept = Image.OPEN[fmt]
        return factory(io.BytesIO(data), "").size
    except Exception:  # noqa: BLE001 - only used to word the reason; the photo is refused anyway
        return None


def _too_many_pixels(size: tuple[int, int] | None, max_pixels: int) -> str:
    if size is None:
        return f"image has more pixels than the {_mp(max_pixels)} MP limit"
    width, height = size
    return f"image is {width}x{height} = {_mp(width * height)} MP, over the {_mp(max_pixels)} MP limit"


@pillow_warnings_logged()
def probe(data: bytes, *, max_pixels: int) -> ImageInfo:
    """Format, size, mode and frame count from the header, plus Pillow's verify(); no full decode.

    verify() checks PNG chunk CRCs and catches damaged headers; a JPEG whose entropy-coded data
    is cut short passes it (libjpeg only notices while decoding), so open_image() reports those.
    """
    fmt = sniff_format(data)
    image = open_header(data, max_pixels=max_pixels)
    try:
        info = ImageInfo(fmt, image.width, image.height, image.mode, getattr(image, "n_frames", 1))
        # verify() leaves the image unusable, hence a second lazy open for it.
        Image.open(io.BytesIO(data), formats=[fmt]).verify()
    except _DECODE_ERRORS as exc:
        raise InvalidPhoto(_reason(fmt, exc)) from exc
    return info


@pillow_warnings_logged()
def open_image(data: bytes, *, max_pixels: int, target_size: int | None = None) -> Image.Image:
    """The first frame, fully decoded, upright (EXIF orientation applied), in sRGB, mode RGB or RGBA.

    ``target_size`` says the caller only needs renditions that fit in target_size x target_size:
    a JPEG is then decoded at reduced scale (never below that size), several times faster.
    The returned image carries no EXIF, XMP or ICC data: none of it applies to these pixels.
    """
    fmt = sniff_format(data)
    image = open_header(data, max_pixels=max_pixels)
    try:
        if target_size is not None and image.format in ("JPEG", "MPO"):
            box = _fit_size(image.size, math.ceil(target_size * _DRAFT_GAP))
            if box != image.size:
                image.draft("RGB", box)
        image.load()
        decoded: Image.Image = image
        _orient(decoded)
        decoded = _to_srgb(decoded)
    except _DECODE_ERRORS as exc:
        raise InvalidPhoto(_reason(fmt, exc)) from exc
    decoded.info = {}
    return decoded


def make_thumbnails(image: Image.Image, sizes: tuple[int, ...] = (150, 300, 600)) -> dict[int, Rendition]:
    """JPEG thumbnails that fit inside size x size (never enlarged), keyed by size.

    The largest is resized from the image, each smaller one from the previous: cheaper, and
    indistinguishable after Lanczos. Sizes are computed from the original so they do not drift.
    """
    renditions: dict[int, Rendition] = {}
    current = image
    for size in sorted(set(sizes), reverse=True):
        current = _resize_to(current, _fit_size(image.size, size))
        renditions[size] = _jpeg(current)
    return {size: renditions[size] for size in sizes}


def web_renditions(image: Image.Image, max_edge: int = 2048) -> dict[str, Rendition]:
    """The web-sized copy as progressive JPEG ("jpeg") and WebP ("webp", keeps alpha).

    Give it ``open_image(data, max_pixels=..., target_size=max_edge)``: a draft-decoded JPEG makes
    the resize several times cheaper than one decoded at full size.
    """
    web = _resize_to(image, _fit_size(image.size, max_edge))
    buffer = io.BytesIO()
    # method=4 is libwebp's default speed/size trade-off; 6 is ~2x slower for ~3% smaller files.
    web.save(buffer, "WEBP", quality=80, method=4)
    webp = Rendition(buffer.getvalue(), web.width, web.height, "image/webp")
    return {"jpeg": _jpeg(web), "webp": webp}


def placeholder(image: Image.Image) -> str:
    """A ThumbHash of the image (base64), for a blurred preview shown before the thumbnail loads."""
    # The ThumbHash spec caps the input at 100x100; the hash itself is ~25 bytes.
    small = _resize_to(image, _fit_size(image.size, 100)).convert("RGBA")
    hashed = thash.rgba_to_thumb_hash(small.width, small.height, list(small.tobytes()))
    return base64.b64encode(bytes(hashed)).decode("ascii")


def _fit_size(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """The size that fits inside edge x edge keeping the aspect ratio, never larger than ``size``."""
    width, height = size
    scale = edge / max(width, height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize_to(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    # reducing_gap: a fast integer box reduce() first, then Lanczos over the last ~2x; the same
    # trade-off Image.thumbnail() makes, visually identical to a full Lanczos.
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def _jpeg(image: Image.Image) -> Rendition:
    if image.mode == "RGBA":
        # JPEG has no alpha: flatten onto white, as a browser shows a transparent PNG on a page.
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    buffer = io.BytesIO()
    # No exif=/icc_profile= arguments, so the file carries no EXIF, GPS, XMP or ICC profile.
    # Untagged JPEG is treated as sRGB by browsers, and the pixels were converted to sRGB on
    # open, so we embed no profile: it would add ~600 bytes to every 150px thumbnail.
    image.save(buffer, "JPEG", quality=82, optimize=True, progressive=True)
    return Rendition(buffer.getvalue(), image.width, image.height, "image/jpeg")


def _orient(image: Image.Image) -> None:
    """Apply EXIF orientation in place; unreadable EXIF leaves the pixels as stored."""
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except (SyntaxError, ValueError, TypeError, KeyError, struct.error, ZeroDivisionError) as exc:
        # The pixels are fine; only the tag is broken. Showing the photo as stored is what
        # every viewer does, so this is not a reason to fail it.
        log.debug("ignoring unreadable EXIF orientation: %r", exc)


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert to sRGB through the embedded ICC profile, then to mode RGB or RGBA."""
    alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or image.has_transparency_data
    if image.mode.startswith("I;16"):
        # 16-bit grey: convert("L") would clip at 255 rather than scale 0..65535 down to 0..255.
        image = image.point(lambda value: value / 256).convert("L")
    elif image.mode not in ("RGB", "RGBA", "L", "CMYK"):
        image = image.convert("RGBA" if alpha else "RGB")
    icc = image.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if not ImageCms.getProfileDescription(source).strip().startswith("sRGB"):
                out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
                converted = ImageCms.profileToProfile(
                    image, source, _SRGB, renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode=out_mode
                )
                if converted is not None:
                    image = converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
            # A broken or mismatched profile (e.g. an RGB profile on a grey image): browsers
            # ignore such profiles and show the pixels as sRGB; so do we.
            log.debug("ignoring unusable ICC profile: %r", exc)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if alpha else "RGB")
    return image


def _mp(pixels: int) -> str:
    """Megapixels as people write them: 2500, 100, 12.2, 0.5."""
    return f"{pixels / 1_000_000:.1f}".removesuffix(".0")


def _reason(fmt: str, exc: BaseException) -> str:
    """A sentence for the uploader from whatever Pillow raised."""
    text = str(exc)
    if isinstance(exc, Image.DecompressionBombError):
        # Raised while decoding (a GIF frame or TIFF tile larger than the header said).
        return f"{fmt} image has a part with more pixels than allowed ({text})"
    if isinstance(exc, MemoryError):
        return f"{fmt} image needs more memory to decode than a worker has"
    if isinstance(exc, EOFError) or "truncated" in text.lower() or "broken data stream" in text:
        return f"truncated {fmt}: the file ends before the image data does"
    if isinstance(exc, OSError) and text.startswith("cannot identify image file"):
        return f"damaged {fmt}: the file starts like a {fmt} but its header cannot be read"
    return f"damaged {fmt}: the image data cannot be decoded ({type(exc).__name__}: {text})"
