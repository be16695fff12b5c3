"""notify called as Lambda calls it, where a response cannot stream (SSE_STREAMING=false)."""

from __future__ import annotations

from typing import Any

import pytest
from photo_harness import PhotoEnv, http_event

from photolib.events import publish
from photolib.models import EventMetadata, EventType, PhotoEvent


def test_without_streaming_one_round_of_sse_ends_with_the_cursor(photo_env: PhotoEnv,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSE_STREAMING", "false")
    monkeypatch.setenv("LONGPOLL_MAX_SECONDS", "0.2")
    ids = [publish(PhotoEvent(type=EventType.UPLOADED, data={"photo_id": f"p{i}"},
                              metadata=EventMetadata(client_id=client, trace_id="t")))
           for i, client in enumerate(["alice", "alice", "bob"])]
    event = http_event("GET", "/events/stream", "/events/stream", headers={"last-event-id": "0"})
    out: dict[str, Any] = photo_env.fn("notify").handler(event, None)
    assert out["statusCode"] == 200 and out["headers"]["content-type"] == "text/event-stream"
    body = out["body"]
    assert isinstance(body, str) and body.startswith("retry: ")
    assert f"id: {ids[0]}\ndata: " in body and f"id: {ids[1]}\ndata: " in body and '"p2"' not in body
    # bob's event was scanned: the closing id-only block moves the browser's Last-Event-ID past it.
    assert body.endswith(f"id: {ids[2]}\n\n")
