"""A sample app's stack, as `lightbox up` runs it, on the session's Redis and moto server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from lightbox.config import Settings
from lightbox.services.processes import ManagedProcess
from lightbox.stack.up import Stack


@contextmanager
def app_stack(template: Path, redis_server: ManagedProcess, s3_server: ManagedProcess, db: int,
              data_dir: Path, **given: Any) -> Iterator[Stack]:
    """Redis database `db` is the app's own, emptied before and after; the moto server is its S3 and every
    other service. `given` settings override the defaults (one worker, no bucket events)."""
    url = redis_server.url.rsplit("/", 1)[0] + f"/{db}"
    redis.Redis.from_url(url).flushdb()  # what an earlier stack on this database left is not this one's
    settings = Settings.load(**{"template": template, "port": 0, "workers": 1, "redis_url": url,
                                "s3_endpoint": s3_server.url, "cloud_endpoint": s3_server.url,
                                "bucket_events": "off", "data_dir": data_dir, **given})
    started = Stack(settings).start()
    try:
        yield started
    finally:
        started.stop()
        redis.Redis.from_url(url).flushdb()
