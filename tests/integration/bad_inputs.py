"""Every kind of bad input a client can send to the photo app, and the run that sends each one
through a PhotoStack as a client would (POST /uploads, the presigned form, the bucket event).
Each must end refused with a 4xx, or as a photo failed with a reason; some are odd but valid."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import requests
from photo_stack import PhotoStack, Upload
from PIL import Image
from reliability_scenarios import CANON, CORPUS, Outcome, judge


@dataclass
class BadInput:
    name: str
    data: bytes
    content_type: str = "image/jpeg"
    filename: str = "photo.jpg"
    declared_size: int | None = None  # None: len(data)
    expect: tuple[str, ...] = ("failed",)  # refused | failed | completed


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def _big_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = "x" * 60_000  # ImageDescription: a 60 KB APP1 segment, near JPEG's 64 KB cap
    return _encoded(Image.new("RGB", (640, 480), (90, 140, 200)), "JPEG", exif=exif.tobytes())


def bad_inputs() -> list[BadInput]:
    canon = CANON.read_bytes()
    png = _encoded(Image.new("RGB", (64, 48), (200, 30, 30)), "PNG")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
    html = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
    refused = ("refused",)
    inputs = [BadInput(f"corpus invalid/{p.name}", p.read_bytes(), filename=p.name, expect=("completed", "failed"))
              for p in sorted((CORPUS / "invalid").iterdir())]
    inputs += [
        BadInput("zero bytes", b"", expect=refused),
        BadInput("zero bytes sent, 10 declared", b"", declared_size=10, expect=refused),
        BadInput("1x1 PNG", _encoded(Image.new("RGB", (1, 1)), "PNG"), "image/png", "dot.png", expect=("completed",)),
        BadInput("PNG header claiming 50000x50000", _png(50_000, 50_000), "image/png", "bomb.png"),
        BadInput("truncated JPEG (first half)", canon[: len(canon) // 2]),
        BadInput("JPEG cut inside its header", canon[:300]),
        BadInput("PNG bytes named .jpg, sent as image/jpeg", png),
        BadInput("SVG as image/svg+xml", svg, "image/svg+xml", "x.svg", expect=refused),
        BadInput("SVG sent as image/png", svg, "image/png", "x.png"),
        BadInput("HTML as text/html", html, "text/html", "x.html", expect=refused),
        BadInput("HTML sent as image/jpeg", html),
        BadInput("JPEG with a 60 KB EXIF block", _big_exif(), expect=("completed",)),
        BadInput("file name with ../", canon, filename="../../etc/passwd.jpg", expect=refused),
        BadInput("file name with NUL", canon, filename="cat\x00.jpg", expect=refused),
        BadInput("file name with an RTL override", canon, filename="cat\u202egpj.exe", expect=refused),
        BadInput("file name of 1,000 characters", canon, filename="x" * 996 + ".jpg", expect=refused),
        BadInput("declared size over the limit", canon, declared_size=10**10, expect=refused),
        BadInput("body larger than declared", canon, declared_size=len(canon) // 2, expect=refused),
        BadInput("body smaller than declared", canon[:1000], declared_size=len(canon), expect=refused),
    ]
    return inputs


def try_bad_inputs(stack: PhotoStack, inputs: list[BadInput]) -> tuple[Outcome, dict[str, str]]:
    """Each input as a client would send it; returns input name -> refused | failed | completed | lost."""
    outcome = Outcome("bad input (every kind tried)")
    result: dict[str, str] = {}
    ids: dict[str, str] = {}
    for bad in inputs:
        declared = len(bad.data) if bad.declared_size is None else bad.declared_size
        r = stack.create_upload(bad.filename, bad.content_type, declared)
        if 400 <= r.status_code < 500 and r.json()["error"]["message"]:
            outcome.refused += 1
            outcome.photos_in += 1
            result[bad.name] = "refused"
            outcome.detail[bad.name] = f"{r.status_code} {r.json()['error']['message']}"
            continue
        assert r.status_code == 201, (bad.name, r.status_code, r.text)
        post = r.json()["upload"]["post"]
        sent = _send_form(post, bad)
        if 400 <= sent.status_code < 500:  # the bucket enforced the policy's content-length-range
            outcome.refused += 1
            outcome.photos_in += 1
            result[bad.name] = "refused"
            outcome.detail[bad.name] = f"bucket said {sent.status_code} {_s3_error(sent.text)}"
            continue
        head = stack.s3.head_object(Bucket=stack.bucket, Key=post["fields"]["key"])
        upload = Upload(r.json()["photo"]["id"], "alice", post["fields"]["key"], head["ContentLength"],
                        head["ETag"].strip('"'))
        stack.deliver([upload])
        ids[bad.name] = upload.photo_id
    verdict = judge(stack, outcome, list(ids.values()), timeout=60)
    for name, pid in ids.items():
        result[name] = verdict[pid]
        outcome.detail[name] = outcome.detail.pop(pid, verdict[pid])
    outcome.notes = f"{len(inputs)} kinds; workers kept serving"
    return outcome, result


def _send_form(post: dict[str, Any], bad: BadInput) -> requests.Response:
    return requests.post(post["url"], data=post["fields"], files={"file": ("f", bad.data, bad.content_type)},
                         timeout=30)


def _s3_error(xml: str) -> str:
    def element(name: str) -> str:
        return xml.partition(f"<{name}>")[2].partition(f"</{name}>")[0]
    return f"{element('Code')}: {element('Message')}"
