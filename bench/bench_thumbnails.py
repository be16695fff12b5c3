"""Thumbnails (150/300/600) of a 12 MP JPEG: photolib (Pillow) against libvips, in the same run.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python bench/bench_thumbnails.py [--repeat N]

The baseline is libvips' own best: thumbnail_buffer (shrink-on-load) per size, or one
thumbnail_buffer at 600 with the smaller ones derived from it, whichever is faster here; libvips
uses all cores, so it is also timed with one thread (Pillow decodes on one). Both sides write
progressive, optimized, quality-82 JPEGs with no metadata. Then each pipeline step is timed on
the corpus phone photos. Prints a markdown table and writes it to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "photolib" / "python"), str(ROOT)]

import pyvips
from PIL import Image

from bench.report import write_section
from photolib.imaging import make_thumbnails, open_image, placeholder, probe, web_renditions
from photolib.metadata import extract_metadata

CORPUS = ROOT / "tests" / "corpus"
SIZES = (150, 300, 600)
MAX_PIXELS = 100_000_000
TITLE = "Thumbnails vs libvips"


def median_ms(work: Callable[[], object], repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        work()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def twelve_megapixel_jpeg() -> bytes:
    """jolla.jpg (3264x2448) upscaled once to 4000x3000, its EXIF kept, as a phone would save it."""
    with Image.open(CORPUS / "mobile" / "jolla.jpg") as source:
        exif = source.info.get("exif", b"")
        big = source.resize((4000, 3000), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    big.save(buffer, "JPEG", quality=92, exif=exif)
    return buffer.getvalue()


def ours(data: bytes) -> None:
    make_thumbnails(open_image(data, max_pixels=MAX_PIXELS, target_size=max(SIZES)))


def _vips_jpeg(image: pyvips.Image) -> bytes:
    return image.jpegsave_buffer(Q=82, optimize_coding=True, interlace=True, keep=pyvips.ForeignKeep.NONE)


def vips_per_size(data: bytes) -> None:
    for size in SIZES:
        _vips_jpeg(pyvips.Image.thumbnail_buffer(data, size, height=size, size="down"))


def vips_derived(data: bytes) -> None:
    largest = pyvips.Image.thumbnail_buffer(data, max(SIZES), height=max(SIZES), size="down").copy_memory()
    _vips_jpeg(largest)
    for size in sorted(SIZES, reverse=True)[1:]:
        _vips_jpeg(largest.thumbnail_image(size, height=size, size="down"))


def compare(name: str, data: bytes, repeat: int) -> str:
    """One table row: ours against libvips' fastest way, and against libvips on one thread."""
    ours_ms = median_ms(partial(ours, data), repeat)
    threads = pyvips.concurrency_get()
    vips: dict[str, float] = {}
    for label, count in ((f"{threads} threads", threads), ("1 thread", 1)):
        pyvips.concurrency_set(count)
        for way in (vips_per_size, vips_derived):
            vips[f"{way.__name__}, {label}"] = median_ms(partial(way, data), repeat)
    pyvips.concurrency_set(threads)
    best_name, best_ms = min(vips.items(), key=lambda item: item[1])
    single = min(ms for label, ms in vips.items() if label.endswith("1 thread"))
    with Image.open(io.BytesIO(data)) as image:
        size = f"{image.width}x{image.height}"
    return (
        f"| {name} ({size}) | {ours_ms:.1f} | {best_ms:.1f} ({best_name}) | **{ours_ms / best_ms:.2f}x** "
        f"| {single:.1f} | {ours_ms / single:.2f}x |"
    )


def steps(name: str, data: bytes, repeat: int) -> str:
    image = open_image(data, max_pixels=MAX_PIXELS, target_size=max(SIZES))
    web = open_image(data, max_pixels=MAX_PIXELS, target_size=2048)
    timings = [
        median_ms(lambda: probe(data, max_pixels=MAX_PIXELS), repeat),
        median_ms(lambda: extract_metadata(data, max_pixels=MAX_PIXELS), repeat),
        median_ms(lambda: open_image(data, max_pixels=MAX_PIXELS, target_size=max(SIZES)), repeat),
        median_ms(lambda: make_thumbnails(image), repeat),
        median_ms(lambda: placeholder(image), repeat),
        median_ms(lambda: open_image(data, max_pixels=MAX_PIXELS, target_size=2048), repeat),
        median_ms(lambda: web_renditions(web), repeat),
    ]
    with Image.open(io.BytesIO(data)) as header:
        size = f"{header.width}x{header.height}"
    return f"| {name} ({size}) | " + " | ".join(f"{ms:.1f}" for ms in timings) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed repetitions per measurement")
    args = parser.parse_args()
    pyvips.cache_set_max(0)  # libvips would otherwise return cached results for the same buffer

    big = twelve_megapixel_jpeg()
    nokia = (CORPUS / "mobile" / "HMD_Nokia_8.3_5G.jpg").read_bytes()
    lines = [
        (
            f"Median of {args.repeat} runs, times in ms, {os.cpu_count()} CPUs, Pillow {Image.__version__}, "
            f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}. "
            "Ours: `make_thumbnails(open_image(data, target_size=600))` (draft decode, EXIF orientation, "
            "sRGB, three progressive JPEGs). The ratio that counts is against libvips' fastest way on all "
            "cores (target: at most 1.3x); the last two columns compare with libvips on one thread."
        ),
        "",
        "| JPEG | ours | libvips best | ours / libvips | libvips 1 thread | ours / 1 thread |",
        "| --- | ---: | --- | ---: | ---: | ---: |",
        compare("12 MP, jolla.jpg upscaled", big, args.repeat),
        compare("HMD_Nokia_8.3_5G.jpg", nokia, args.repeat),
        "",
        (
            "Each pipeline step on the corpus phone photos (ms). `open_image` is given the size the stage "
            "needs (600 for thumbnails, 2048 for the web rendition), so a JPEG is decoded at reduced "
            "scale; HEIC has no such shortcut. `web_renditions` is mostly the WebP encode (method 4)."
        ),
        "",
        (
            "| photo | probe | extract_metadata | open_image(target 600) | make_thumbnails | placeholder "
            "| open_image(target 2048) | web_renditions |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for path in sorted((CORPUS / "mobile").iterdir()):
        lines.append(steps(path.name, path.read_bytes(), max(3, args.repeat // 3)))
    table = "\n".join(lines)
    print(table)
    write_section(TITLE, table)
    print(f"\nwritten to {Path('docs') / 'benchmarks.md'} under '## {TITLE}'")


if __name__ == "__main__":
    main()
