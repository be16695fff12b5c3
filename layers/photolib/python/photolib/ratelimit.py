"""Per-client rate limits on Redis, shared by every process serving the API.

The `limits` library does the counting (a moving window: no burst of twice the limit at a window
edge); this module picks the key and turns "over the limit" into RateLimited with a Retry-After.
"""

from __future__ import annotations

import functools
import logging
import math
import time

import redis
from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from photolib.config import Settings
from photolib.exceptions import RateLimited

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8)
def _limiter(url: str, client: redis.Redis) -> MovingWindowRateLimiter:
    # The layer's own Redis connection pool, so a process holds one pool per URL, not two.
    return MovingWindowRateLimiter(RedisStorage(url, connection_pool=client.connection_pool,
                                                key_prefix="lightbox:ratelimit"))


def check_upload_rate(client_id: str, settings: Settings, client: redis.Redis) -> None:
    """Count one upload creation by this client; RateLimited when over UPLOAD_RATE_LIMIT per
    UPLOAD_RATE_WINDOW_SECONDS. A limit of 0 turns the check off."""
    if settings.upload_rate_limit == 0:
        return
    item = RateLimitItemPerSecond(settings.upload_rate_limit, settings.upload_rate_window_seconds)
    limiter = _limiter(settings.redis_url, client)
    try:
        if limiter.hit(item, "uploads", client_id):
            return
        reset_at = limiter.get_window_stats(item, "uploads", client_id).reset_time
    except redis.RedisError as exc:
        # The limit protects capacity; refusing every upload while Redis is away would cost more.
        log.warning("rate limit not checked (Redis unavailable): %s", exc)
        return
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise RateLimited(f"more than {settings.upload_rate_limit} uploads in {settings.upload_rate_window_seconds} s; "
                      f"retry in {retry_after} s", retry_after)
