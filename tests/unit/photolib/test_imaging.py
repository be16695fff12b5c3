"""photolib.imaging on the real corpus and on files crafted to be hostile or unusual."""

from __future__ import annotations

import base64
import io
import struct
import tracemalloc
import zlib
from pathlib import Path

import pytest
import thash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageCms, ImageStat

from photolib.exceptions import InvalidPhoto
from photolib.imaging import (
    ImageInfo,
    Rendition,
    make_thumbnails,
    open_image,
    placeholder,
    probe,
    sniff_format,
    web_renditions,
)

MAX_PIXELS = 100_000_000
SIZES = (150, 300, 600)

# What each file in invalid/ produces with Pillow 13 + libjpeg-turbo. All of them decode: they
# were collected because they crash EXIF parsers (the names are the errors they raised there),
# and corrupted.jpg's entropy data ends early, which libjpeg turns into grey bottom rows (24 of
# 2736) with a warning rather than an error. Value: the stored (and upright) size.
INVALID_CORPUS = {
    "35-empty.jpg": (2164, 1626),
    "36-memory_error.jpg": (1600, 1200),
    "87_OSError.jpg": (1488, 2240),
    "corrupted.jpg": (3648, 2736),
    "image01137.jpg": (88, 64),
    "image02206.jpg": (65, 65),
}


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def fit(size: tuple[int, int], edge: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, edge / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def assert_clean_thumbnails(renditions: dict[int, Rendition], upright: tuple[int, int]) -> None:
    assert sorted(renditions) == list(SIZES)
    for size, rendition in renditions.items():
        expected = fit(upright, size)
        assert abs(rendition.width - expected[0]) <= 1 and abs(rendition.height - expected[1]) <= 1
        assert max(rendition.width, rendition.height) == min(size, max(upright))
        assert rendition.content_type == "image/jpeg"
        decoded = Image.open(io.BytesIO(rendition.data))
        assert decoded.format == "JPEG" and decoded.mode == "RGB"
        assert decoded.size == (rendition.width, rendition.height)
        assert decoded.info.get("progressive") or decoded.info.get("progression")
        for key in ("exif", "icc_profile", "xmp"):
            assert key not in decoded.info, key
        assert b"Exif\x00\x00" not in rendition.data and b"ns.adobe.com/xap" not in rendition.data


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def solid(mode: str, colour: object, size: tuple[int, int] = (64, 48)) -> Image.Image:
    return Image.new(mode, size, colour)  # type: ignore[arg-type]


# --- the real corpus --------------------------------------------------------------------------


def corpus_photos(corpus: Path, *folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (corpus / folder).iterdir() if p.suffix.lower() != ".md")


@pytest.mark.parametrize("folder", ["exif", "mobile"])
def test_every_camera_and_phone_photo_decodes_into_thumbnails(corpus: Path, folder: str) -> None:
    for path in corpus_photos(corpus, folder):
        data = path.read_bytes()
        info = probe(data, max_pixels=MAX_PIXELS)
        image = open_image(data, max_pixels=MAX_PIXELS, target_size=600)
        assert image.mode == "RGB", path.name
        assert_clean_thumbnails(make_thumbnails(image), (info.width, info.height))


def test_heic_is_identified_and_decoded(corpus: Path) -> None:
    data = (corpus / "mobile" / "IMG_5195.HEIC").read_bytes()
    assert sniff_format(data) == "HEIF"
    assert probe(data, max_pixels=MAX_PIXELS) == ImageInfo("HEIF", 2566, 3313, "RGB", 1)
    assert open_image(data, max_pixels=MAX_PIXELS).size == (2566, 3313)


def test_draft_decoding_gives_the_same_thumbnail_as_a_full_decode(corpus: Path) -> None:
    data = (corpus / "mobile" / "jolla.jpg").read_bytes()
    drafted = open_image(data, max_pixels=MAX_PIXELS, target_size=600)
    full = open_image(data, max_pixels=MAX_PIXELS)
    assert drafted.size == (816, 612) and full.size == (3264, 2448)  # decoded at 1/4 scale
    small, reference = (Image.open(io.BytesIO(make_thumbnails(im)[600].data)) for im in (drafted, full))
    assert small.size == reference.size == (600, 450)
    assert mean_difference(small, reference) < 2


@pytest.mark.parametrize("shape", ["Landscape", "Portrait"])
def test_every_exif_orientation_gives_the_same_upright_thumbnail(corpus: Path, shape: str) -> None:
    def thumbnail(number: int) -> Image.Image:
        data = (corpus / "orientation" / f"{shape}_{number}.jpg").read_bytes()
        image = open_image(data, max_pixels=MAX_PIXELS, target_size=600)
        return Image.open(io.BytesIO(make_thumbnails(image)[600].data)).convert("RGB")

    reference = thumbnail(1)
    assert reference.size == ((600, 400) if shape == "Landscape" else (400, 600))
    # The metric tells orientations apart: the upright reference vs. its own mirror image.
    assert mean_difference(reference, reference.transpose(Image.Transpose.FLIP_LEFT_RIGHT)) > 20
    for number in (0, 2, 3, 4, 5, 6, 7, 8):
        oriented = thumbnail(number)
        assert oriented.size == reference.size, number
        assert mean_difference(oriented, reference) < 3, number


def test_invalid_corpus_outcomes_cover_every_file(corpus: Path) -> None:
    assert {p.name for p in (corpus / "invalid").iterdir()} == set(INVALID_CORPUS)


@pytest.mark.parametrize("name", sorted(INVALID_CORPUS))
def test_each_invalid_corpus_file_gives_exactly_its_known_outcome(corpus: Path, name: str) -> None:
    data = (corpus / "invalid" / name).read_bytes()
    size = INVALID_CORPUS[name]
    assert probe(data, max_pixels=MAX_PIXELS).width == size[0]
    assert_clean_thumbnails(make_thumbnails(open_image(data, max_pixels=MAX_PIXELS, target_size=600)), size)


def test_web_renditions_of_a_phone_photo(corpus: Path) -> None:
    data = (corpus / "mobile" / "HMD_Nokia_8.3_5G.jpg").read_bytes()
    renditions = web_renditions(open_image(data, max_pixels=MAX_PIXELS))
    assert sorted(renditions) == ["jpeg", "webp"]
    for key, fmt in (("jpeg", "JPEG"), ("webp", "WEBP")):
        rendition = renditions[key]
        assert (rendition.width, rendition.height) == (2048, 878)
        assert rendition.content_type == f"image/{key}"
        decoded = Image.open(io.BytesIO(rendition.data))
        assert decoded.format == fmt and decoded.size == (2048, 878)
        assert "exif" not in decoded.info and b"Exif\x00\x00" not in rendition.data
    assert Image.open(io.BytesIO(renditions["jpeg"].data)).info.get("progressive")


def test_placeholder_is_a_thumbhash_of_the_image(corpus: Path) -> None:
    data = (corpus / "orientation" / "Portrait_6.jpg").read_bytes()
    hashed = base64.b64decode(placeholder(open_image(data, max_pixels=MAX_PIXELS, target_size=600)))
    assert 20 <= len(hashed) <= 30
    assert thash.thumb_hash_to_approximate_aspect_ratio(list(hashed)) < 1  # upright portrait
    red = base64.b64decode(placeholder(solid("RGB", (220, 20, 20))))
    r, g, b, a = thash.thumb_hash_to_average_rgba(list(red))
    assert r > 0.8 and g < 0.2 and b < 0.2 and a == 1


# --- files that are not photos ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "HTML"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
        (b"<svg width='10' height='10'></svg>", "SVG"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "PDF"),
        (b"PK\x03\x04\x14\x00\x00\x00", "zip"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "video"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "AVIF"),
        (b"BM\x36\x00\x00\x00", "BMP"),
        (b"\x01\x02\x03\x04 random", "01 02 03 04"),
    ],
)
def test_non_images_are_invalid_with_a_reason_naming_what_they_look_like(data: bytes, words: str) -> None:
    for call in (
        sniff_format,
        lambda d: probe(d, max_pixels=MAX_PIXELS),
        lambda d: open_image(d, max_pixels=9),
    ):
        with pytest.raises(InvalidPhoto) as caught:
            call(data)
        assert words in caught.value.reason and "JPEG, PNG" in caught.value.reason


def png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height, with (almost) no pixel data behind it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("size", "reason"),
    [
        # Past Pillow's own hard limit (2 x MAX_IMAGE_PIXELS): Image.open refuses it first.
        ((50000, 50000), "image is 50000x50000 = 2500 MP, over the 100 MP limit"),
        # Under Pillow's limit, over ours.
        ((12000, 10000), "image is 12000x10000 = 120 MP, over the 100 MP limit"),
    ],
)
def test_decompression_bomb_is_refused_from_the_header_without_allocating(
    size: tuple[int, int], reason: str
) -> None:
    data = png_header(*size)
    tracemalloc.start()
    try:
        for call in (probe, open_image):
            with pytest.raises(InvalidPhoto) as caught:
                call(data, max_pixels=MAX_PIXELS)
            assert caught.value.reason == reason
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # the pixels would be 7.5 GB / 360 MB


def test_truncated_jpeg_passes_probe_and_is_refused_by_open_image(corpus: Path) -> None:
    whole = (corpus / "mobile" / "jolla.jpg").read_bytes()
    data = whole[: len(whole) // 2]
    # probe reads the header only; libjpeg notices the missing data while decoding.
    assert probe(data, max_pixels=MAX_PIXELS).width == 3264
    for target in (None, 600):
        with pytest.raises(InvalidPhoto) as caught:
            open_image(data, max_pixels=MAX_PIXELS, target_size=target)
        assert caught.value.reason == "truncated JPEG: the file ends before the image data does"


def test_jpeg_cut_inside_its_header_is_invalid(corpus: Path) -> None:
    data = (corpus / "mobile" / "jolla.jpg").read_bytes()[:300]
    with pytest.raises(InvalidPhoto) as caught:
        probe(data, max_pixels=MAX_PIXELS)
    assert "JPEG" in caught.value.reason


def test_truncated_png_is_caught_by_probe() -> None:
    data = encode(Image.effect_noise((200, 200), 60).convert("RGB"), "PNG")
    with pytest.raises(InvalidPhoto) as caught:
        probe(data[: len(data) // 2], max_pixels=MAX_PIXELS)
    assert caught.value.reason == "truncated PNG: the file ends before the image data does"


# --- formats and colour ---------------------------------------------------------------------------


def test_one_pixel_image_gives_one_pixel_thumbnails() -> None:
    image = open_image(encode(solid("RGB", (1, 2, 3), (1, 1)), "PNG"), max_pixels=MAX_PIXELS)
    assert all((r.width, r.height) == (1, 1) for r in make_thumbnails(image).values())


def test_animated_gif_and_webp_give_their_first_frame() -> None:
    frames = [solid("RGB", (255, 0, 0)), solid("RGB", (0, 0, 255))]
    for fmt in ("GIF", "WEBP"):
        data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, lossless=True)
        assert sniff_format(data) == fmt
        assert probe(data, max_pixels=MAX_PIXELS).frames == 2
        image = open_image(data, max_pixels=MAX_PIXELS)
        assert image.mode == "RGB" and image.getpixel((5, 5)) == (255, 0, 0)


def test_tiff_and_webp_stills_decode() -> None:
    for fmt in ("TIFF", "WEBP"):
        data = encode(solid("RGB", (10, 200, 30)), fmt, **({"lossless": True} if fmt == "WEBP" else {}))
        assert probe(data, max_pixels=MAX_PIXELS) == ImageInfo(fmt, 64, 48, "RGB", 1)
        assert open_image(data, max_pixels=MAX_PIXELS).getpixel((0, 0)) == (10, 200, 30)


def test_png_alpha_is_kept_and_flattened_onto_white_in_jpeg() -> None:
    image = solid("RGBA", (0, 0, 0, 0), (800, 400))
    image.paste((0, 0, 255, 255), (0, 0, 400, 400))  # left half opaque blue, right half transparent
    opened = open_image(encode(image, "PNG"), max_pixels=MAX_PIXELS)
    assert opened.mode == "RGBA"
    thumbnail = Image.open(io.BytesIO(make_thumbnails(opened)[150].data))
    assert thumbnail.size == (150, 75)
    assert all(abs(a - b) < 8 for a, b in zip(thumbnail.getpixel((130, 40)), (255, 255, 255), strict=True))
    assert all(abs(a - b) < 8 for a, b in zip(thumbnail.getpixel((20, 40)), (0, 0, 255), strict=True))
    webp = Image.open(io.BytesIO(web_renditions(opened)["webp"].data))
    assert webp.mode == "RGBA" and webp.getpixel((700, 200))[3] == 0


def test_palette_gif_with_transparency_opens_as_rgba() -> None:
    image = solid("P", 0, (20, 20))
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    opened = open_image(encode(image, "GIF", transparency=0), max_pixels=MAX_PIXELS)
    assert opened.mode == "RGBA" and opened.getpixel((0, 0))[3] == 0


def test_cmyk_jpeg_becomes_rgb() -> None:
    opened = open_image(encode(solid("CMYK", (0, 255, 255, 0)), "JPEG", quality=95), max_pixels=MAX_PIXELS)
    assert opened.mode == "RGB"
    r, g, b = opened.getpixel((10, 10))  # type: ignore[misc]
    assert r > 240 and g < 15 and b < 15


def test_sixteen_bit_grey_png_is_scaled_not_clipped() -> None:
    opened = open_image(encode(solid("I;16", 40000), "PNG"), max_pixels=MAX_PIXELS)
    assert opened.mode == "RGB" and opened.getpixel((0, 0)) == (156, 156, 156)


def test_embedded_display_p3_profile_is_converted_to_srgb(corpus: Path) -> None:
    with Image.open(corpus / "mobile" / "IMG_5195.HEIC") as heic:
        p3_bytes = heic.info["icc_profile"]
    p3 = ImageCms.ImageCmsProfile(io.BytesIO(p3_bytes))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    wanted = solid("RGB", (200, 90, 50))
    in_p3 = ImageCms.profileToProfile(wanted, srgb, p3)  # the same colour, as P3 numbers
    assert in_p3 is not None
    assert mean_difference(in_p3, wanted) > 10  # so ignoring the profile would show
    for fmt in ("JPEG", "PNG"):
        opened = open_image(encode(in_p3, fmt, icc_profile=p3_bytes, quality=95), max_pixels=MAX_PIXELS)
        assert mean_difference(opened, wanted) < 2.5, fmt
        assert "icc_profile" not in opened.info


def test_broken_icc_profile_is_ignored() -> None:
    data = encode(solid("RGB", (10, 20, 30)), "PNG", icc_profile=b"not a profile at all")
    assert open_image(data, max_pixels=MAX_PIXELS).getpixel((0, 0)) == (10, 20, 30)


def test_malformed_exif_does_not_stop_decoding() -> None:
    data = encode(solid("RGB", (10, 20, 30)), "JPEG", exif=b"Exif\x00\x00II*\x00" + b"\xff" * 64)
    image = open_image(data, max_pixels=MAX_PIXELS)
    assert make_thumbnails(image)[150].width == 64


# --- anything at all ------------------------------------------------------------------------------

SMALL_JPEG = encode(Image.effect_noise((40, 30), 50).convert("RGB"), "JPEG", exif=b"Exif\x00\x00MM\x00*")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048) | st.builds(lambda b: b"\xff\xd8\xff" + b, st.binary(max_size=2048)))
def test_arbitrary_bytes_are_an_image_or_invalid_photo(data: bytes) -> None:
    try:
        make_thumbnails(open_image(data, max_pixels=MAX_PIXELS))
    except InvalidPhoto as exc:
        assert exc.reason


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SMALL_JPEG) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_a_damaged_jpeg_is_an_image_or_invalid_photo(damage: list[tuple[int, int]]) -> None:
    data = bytearray(SMALL_JPEG)
    for offset, value in damage:
        data[offset] = value
    try:
        probe(bytes(data), max_pixels=MAX_PIXELS)
        make_thumbnails(open_image(bytes(data), max_pixels=MAX_PIXELS, target_size=150))
    except InvalidPhoto as exc:
        assert exc.reason
