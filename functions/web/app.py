"""web (HTTP API): the upload page. GET / is index.html, GET /static/{name} its script and stylesheet.

The page is plain HTML, CSS and one script (no build step). It needs a client token, given once in
its URL: http://127.0.0.1:3000/?token=TOKEN (`python -m photolib.auth issue CLIENT_ID` prints one); the script
keeps it for the tab and takes it out of the address bar.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from photolib.models import HttpApiEvent

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8"}
FILES = {p.name: p for p in STATIC.iterdir() if p.suffix in TYPES}  # the only files served: no path tricks


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = HttpApiEvent.model_validate(event)
    name = request.pathParameters.get("name") if request.rawPath.startswith("/static/") else "index.html"
    path = FILES.get(name or "")
    if path is None:
        return {"statusCode": 404, "headers": {"content-type": "application/json"},
                "body": json.dumps({"error": {"code": "not_found", "message": f"no file {request.rawPath!r}"}})}
    return {"statusCode": 200, "body": path.read_text(encoding="utf-8"),
            "headers": {"content-type": TYPES[path.suffix], "cache-control": "no-cache",
                        "x-content-type-options": "nosniff",
                        # The page is opened as /?token=...: that URL must not travel in Referer headers.
                        "referrer-policy": "no-referrer"}}
