"""Publish photo events to a Redis Stream, capped so it cannot grow without bound.

Each entry carries the event as JSON in `event`, plus `type`, `photo_id` and `client_id` as
plain fields so a reader can filter without parsing. The stream id (not the event's own id) is
what SSE clients resume from.
"""

from __future__ import annotations

import functools
from typing import cast

import redis
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential, wait_random

from photolib.config import Settings, load_settings
from photolib.deadline import retry_stop
from photolib.exceptions import TransientError
from photolib.models import PhotoEvent


@functools.lru_cache(maxsize=8)
def redis_client(url: str) -> redis.Redis:
    # One connection pool per process and URL; short timeouts so a dead Redis fails fast and retries.
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


@retry(
    retry=retry_if_exception_type((redis.ConnectionError, redis.TimeoutError)),
    # publish() sets the budget from settings (retry_with); this stop bounds any other caller.
    stop=stop_after_delay(12), wait=wait_exponential(multiplier=0.05, max=1.0) + wait_random(0, 0.05), reraise=True,
)
def _xadd(client: redis.Redis, stream: str, fields: dict[str, str], maxlen: int) -> str:
    entry_id = client.xadd(stream, fields, maxlen=maxlen, approximate=True)  # type: ignore[arg-type]
    return entry_id.decode() if isinstance(entry_id, bytes) else cast(str, entry_id)


def publish(
    event: PhotoEvent, *, settings: Settings | None = None, client: redis.Redis | None = None
) -> str:
    """Append the event; returns its stream id. TransientError when Redis stays unreachable."""
    settings = settings or load_settings()
    client = client or redis_client(settings.redis_url)
    fields = {
        "event": event.model_dump_json(),
        "type": event.type.value,
        "photo_id": str(event.data.get("photo_id", "")),
        "client_id": event.metadata.client_id,
    }
    try:
        retrying = _xadd.retry_with(stop=retry_stop(settings.retry_seconds))
        return str(retrying(client, settings.events_stream, fields, settings.events_maxlen))
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise TransientError(f"could not publish {event.type.value} to Redis: {exc}") from exc
