"""The Runtime API's request bodies as runtimes send them: header blocks, chunked bodies and the
error a streamed response reports in its trailers."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from typing import BinaryIO

from lightbox.exceptions import FunctionError
from lightbox.runtime.environments.faults import from_payload

ERROR_TYPE_TRAILER = "lambda-runtime-function-error-type"
ERROR_BODY_TRAILER = "lambda-runtime-function-error-body"
MAX_LINE = 65536  # a request or header line longer than this is cut, as http.server does


def read_headers(rfile: BinaryIO) -> dict[str, str]:
    """A header block up to its blank line, names lower-cased."""
    headers: dict[str, str] = {}
    while (raw := rfile.readline(MAX_LINE)) not in (b"\r\n", b"\n", b""):
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


def chunks(rfile: BinaryIO, headers: dict[str, str], trailers: dict[str, str]) -> Iterator[bytes]:
    """A request's body as it comes: whole with a Content-Length, else chunk by chunk; the trailers
    of a chunked body go into `trailers`."""
    if headers.get("transfer-encoding", "").lower() != "chunked":
        yield rfile.read(int(headers.get("content-length") or 0))
        return
    while True:
        line = rfile.readline(MAX_LINE)
        if not line:
            raise ConnectionResetError("runtime hung up mid-response")
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            trailers.update(read_headers(rfile))  # trailers are a header block
            return
        data = rfile.read(size)
        rfile.readline()
        yield data


def trailer_error(trailers: dict[str, str]) -> FunctionError | None:
    kind = trailers.get(ERROR_TYPE_TRAILER)
    if kind is None:
        return None
    try:
        payload: object = json.loads(base64.b64decode(trailers.get(ERROR_BODY_TRAILER, "")))
    except (ValueError, binascii.Error):
        payload = {"errorType": kind, "errorMessage": trailers.get(ERROR_BODY_TRAILER, "")}
    return from_payload(payload, kind)


def parse_json(data: bytes) -> object:
    try:
        return json.loads(data or b"null")
    except ValueError:
        return data.decode("utf-8", "replace")
