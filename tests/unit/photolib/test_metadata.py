"""photolib.metadata: known EXIF of real cameras and phones, and EXIF that is broken on purpose."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import ExifTags, Image, TiffImagePlugin

from photolib.exceptions import InvalidPhoto
from photolib.metadata import PhotoMetadata, extract_metadata

MAX_PIXELS = 100_000_000

# Values read once from the files (Pillow's raw EXIF tags) and checked by hand; the
# GPS degrees/minutes/seconds converted to signed decimal degrees.
KNOWN = {
    "exif/Canon_40D.jpg": {
        "width": 100,
        "height": 68,
        "format": "JPEG",
        "mode": "RGB",
        "icc_profile": "sRGB IEC61966-2.1",
        "camera_make": "Canon",
        "camera_model": "Canon EOS 40D",
        "taken_at": "2008-05-30T15:56:01",
        "iso": 100,
        "f_number": 7.1,
        "exposure_time": "1/160",
        "exposure_seconds": 0.00625,
        "focal_length": 135.0,
        "orientation": 1,
    },
    "exif/DSCN0010.jpg": {
        "width": 640,
        "height": 480,
        "camera_make": "NIKON",
        "camera_model": "COOLPIX P6000",
        "taken_at": "2008-10-22T16:28:39",
        "iso": 64,
        "f_number": 5.9,
        "exposure_time": "1/75",
        "focal_length": 24.0,
        # 43° 28' 2.814" N, 11° 53' 6.456" E
        "gps_latitude": 43.4674483,
        "gps_longitude": 11.8851267,
        "gps_altitude": None,
    },
    "exif/DSCN0012.jpg": {
        "camera_model": "COOLPIX P6000",
        "taken_at": "2008-10-22T16:29:49",
        # 43° 28' 1.764" N, 11° 53' 7.422" E
        "gps_latitude": 43.4671567,
        "gps_longitude": 11.885395,
    },
    "exif/Nikon_D70.jpg": {
        "camera_make": "NIKON CORPORATION",
        "camera_model": "NIKON D70",
        "iso": 200,
        "f_number": 9.0,
    },
    "exif/Panasonic_DMC-FZ30.jpg": {
        "camera_make": "Panasonic",
        "camera_model": "DMC-FZ30",
        "exposure_time": "1/30",
    },
    # Fixed-width EXIF strings: "PENTAX Corporation " and "PENTAX K10D        " are trimmed.
    "exif/Pentax_K10D.jpg": {
        "camera_make": "PENTAX Corporation",
        "camera_model": "PENTAX K10D",
        "f_number": 11.0,
    },
    "mobile/HMD_Nokia_8.3_5G.jpg": {
        "width": 4608,
        "height": 1976,
        "camera_make": "HMD Global",
        "camera_model": "Nokia 8.3 5G",
        "taken_at": "2022-08-14T14:12:31+03:00",  # OffsetTimeOriginal present
        "exposure_time": "1/1848",
        "gps_latitude": 60.1467056,
        "gps_longitude": 24.9067722,
    },
    "mobile/IMG_5195.HEIC": {
        "width": 2566,
        "height": 3313,
        "format": "HEIF",
        "icc_profile": "Display P3",
        "camera_make": "Apple",
        "camera_model": "iPhone 11 Pro Max",
        "lens": "iPhone 11 Pro Max back triple camera 4.25mm f/1.8",
        "taken_at": "2021-04-11T15:47:53.054-05:00",  # SubSecTimeOriginal 054, OffsetTimeOriginal -05:00
        "iso": 32,
        "f_number": 1.8,
        "focal_length": 4.25,
        # 39° 3' 4.84" N, 94° 17' 19.58" W: west is negative
        "gps_latitude": 39.0513444,
        "gps_longitude": -94.2887722,
        "gps_altitude": 260.561,
    },
    "mobile/jolla.jpg": {
        "camera_make": "Jolla",
        "camera_model": "Jolla",
        "iso": 320,
        "exposure_time": "1/25",
    },
    # invalid/ files carry EXIF that crashed other parsers; here it reads cleanly.
    "invalid/35-empty.jpg": {"camera_make": "CASIO COMPUTER CO.,LTD", "camera_model": "EX-Z750", "iso": None},
    "invalid/87_OSError.jpg": {
        "width": 1488,
        "height": 2240,
        "lens": "18.0-70.0 mm f/3.5-4.5",
        "iso": 1000,
        "gps_latitude": 43.7855944,
        "gps_longitude": 11.2346194,
        "gps_altitude": 42.123,
    },
    "invalid/image02206.jpg": {
        "width": 65,
        "height": 65,
        "camera_make": None,
        "taken_at": None,
        "orientation": None,
    },
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_exif_of_real_photos(corpus: Path, name: str) -> None:
    metadata = extract_metadata((corpus / name).read_bytes(), max_pixels=MAX_PIXELS)
    assert metadata.model_dump(include=set(KNOWN[name])) == pytest.approx(KNOWN[name])


def test_every_corpus_file_gives_metadata(corpus: Path) -> None:
    for path in sorted(corpus.glob("*/*")):
        if path.suffix.lower() in (".jpg", ".heic"):
            metadata = extract_metadata(path.read_bytes(), max_pixels=MAX_PIXELS)
            assert metadata.width > 0 and metadata.height > 0, path.name


@pytest.mark.parametrize("shape", ["Landscape", "Portrait"])
def test_width_and_height_are_the_upright_size(corpus: Path, shape: str) -> None:
    upright = (1800, 1200) if shape == "Landscape" else (1200, 1800)
    for number in range(9):
        metadata = extract_metadata(
            (corpus / "orientation" / f"{shape}_{number}.jpg").read_bytes(), max_pixels=MAX_PIXELS
        )
        assert (metadata.width, metadata.height) == upright, number
        assert metadata.orientation == (number or None)  # 0 is not a valid orientation


def jpeg_with_exif(exif: Image.Exif | bytes) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 90, 90)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_bad_values_in_valid_exif_become_none() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "  \x00 "
    exif[ExifTags.Base.Model] = "Model  X\x00\x00"
    exif[ExifTags.Base.Orientation] = 9
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    ifd[ExifTags.Base.DateTimeOriginal] = "0000:00:00 00:00:00"
    ifd[ExifTags.Base.FNumber] = TiffImagePlugin.IFDRational(28, 0)  # nan
    ifd[ExifTags.Base.ExposureTime] = TiffImagePlugin.IFDRational(1, 0)
    ifd[ExifTags.Base.FocalLength] = TiffImagePlugin.IFDRational(0, 1)
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (100.0, 0.0, 0.0)  # past the pole
    gps[ExifTags.GPS.GPSLongitude] = (11.0, 53.0)  # two parts, not three
    gps[ExifTags.GPS.GPSAltitudeRef] = b"\x01"
    gps[ExifTags.GPS.GPSAltitude] = TiffImagePlugin.IFDRational(105, 10)
    metadata = extract_metadata(jpeg_with_exif(exif), max_pixels=MAX_PIXELS)
    assert metadata == PhotoMetadata(
        width=40, height=30, format="JPEG", mode="RGB", camera_model="Model X", gps_altitude=-10.5
    )


def test_zero_zero_coordinates_mean_no_fix() -> None:
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitude] = (0.0, 0.0, 0.0)
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 0.0, 0.0)
    metadata = extract_metadata(jpeg_with_exif(exif), max_pixels=MAX_PIXELS)
    assert metadata.gps_latitude is None and metadata.gps_longitude is None


def test_slow_shutter_and_dates_without_original() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.DateTime] = "2020:01:02 03:04:05"  # only the file-changed date
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.ExposureTime] = TiffImagePlugin.IFDRational(5, 2)
    metadata = extract_metadata(jpeg_with_exif(exif), max_pixels=MAX_PIXELS)
    assert (metadata.taken_at, metadata.exposure_time, metadata.exposure_seconds) == (
        "2020-01-02T03:04:05",
        "2.5",
        2.5,
    )


@pytest.mark.parametrize(
    "blob",
    [
        b"Exif\x00\x00II*\x00" + b"\xff" * 64,  # IFD offset points past the end
        b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + b"\x00" * 12,  # 65535 entries claimed
        b"Exif\x00\x00garbage",
    ],
)
def test_malformed_exif_block_never_raises(blob: bytes) -> None:
    metadata = extract_metadata(jpeg_with_exif(blob), max_pixels=MAX_PIXELS)
    assert (metadata.width, metadata.height, metadata.format) == (40, 30, "JPEG")
    assert metadata.camera_make is None


@pytest.mark.parametrize("data", [b"", b"<html></html>", b"\xff\xd8\xff\xe0 not really a jpeg"])
def test_not_an_image_raises_invalid_photo(data: bytes) -> None:
    with pytest.raises(InvalidPhoto):
        extract_metadata(data, max_pixels=MAX_PIXELS)


def test_too_many_pixels_raises_invalid_photo(corpus: Path) -> None:
    with pytest.raises(InvalidPhoto, match="over the 1 MP limit"):
        extract_metadata((corpus / "mobile" / "jolla.jpg").read_bytes(), max_pixels=1_000_000)
