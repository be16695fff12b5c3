"""The event stream on a real Redis: shape, order, and the length cap."""

from __future__ import annotations

import json

import pytest
import redis

from photolib.config import Settings
from photolib.events import publish
from photolib.models import EventMetadata, EventType, PhotoEvent


def test_events_keep_their_shape_and_order_and_the_stream_is_capped(redis_url: str) -> None:
    settings = Settings(redis_url=redis_url, events_stream="capped", events_maxlen=50)
    client = redis.Redis.from_url(redis_url)
    ids = [
        publish(PhotoEvent(type=EventType.STAGE_COMPLETED, data={"photo_id": f"p{i}", "stage": "validate"},
                           metadata=EventMetadata(client_id="alice", trace_id="t")), settings=settings)
        for i in range(1000)
    ]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
    # MAXLEN ~ trims whole radix-tree nodes, so the length is near the cap, never the full 1000.
    assert 50 <= client.xlen("capped") < 200
    _, fields = client.xrevrange("capped", count=1)[0]
    event = json.loads(fields[b"event"])
    assert set(event) == {"id", "type", "data", "metadata", "timestamp"}
    assert event["data"] == {"photo_id": "p999", "stage": "validate"}
    assert fields[b"type"] == b"photo.stage.completed" and fields[b"client_id"] == b"alice"
    client.close()


def test_redis_down_is_a_transient_error() -> None:
    from photolib.exceptions import TransientError

    settings = Settings(redis_url="redis://127.0.0.1:9/0", retry_seconds=0.3)
    event = PhotoEvent(type=EventType.UPLOADED, data={"photo_id": "p"},
                       metadata=EventMetadata(client_id="a", trace_id="t"))
    with pytest.raises(TransientError, match=r"photo\.uploaded"):
        publish(event, settings=settings)
