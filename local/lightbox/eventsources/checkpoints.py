"""Where each event source mapping is in its stream, kept in Redis: `lightbox up` resumes from it after
a restart (as a mapping on AWS keeps its position), and `lightbox status` shows it with the lag."""

from __future__ import annotations

import time
from typing import Any, cast

from redis import Redis

from lightbox.eventsources.shards import arrival

KEY = "lightbox:mapping:{0}"  # by mapping name (function:event), a hash


class Checkpoints:
    def __init__(self, connection: Redis, mapping: str) -> None:
        self.connection, self.key = connection, KEY.format(mapping)

    def position(self, arn: str, shard: str) -> str | None:
        """The last sequence number done on this shard of this stream (a stream made again starts over)."""
        value = cast(bytes | None, self.connection.hget(self.key, f"position:{arn}:{shard}"))
        return value.decode() if value else None

    def advance(self, arn: str, shard: str, sequence: str) -> None:
        self.connection.hset(self.key, mapping={f"position:{arn}:{shard}": sequence, "stream": arn,
                                                "shard": shard, "sequence": sequence, "at": str(time.time())})

    def lag(self, arn: str, shard: str, millis_behind: int | None, records: list[dict[str, Any]]) -> None:
        """Kinesis says how far behind a read is; for DynamoDB, the age of the oldest record just read."""
        if millis_behind is None:
            millis_behind = int((time.time() - arrival(records[0])) * 1000) if records else 0
        self.connection.hset(self.key, mapping={"lag_ms": str(max(0, millis_behind)), "stream": arn})


def read(connection: Redis, mapping: str) -> dict[str, str]:
    raw = cast(dict[bytes, bytes], connection.hgetall(KEY.format(mapping)))
    return {k.decode(): v.decode() for k, v in raw.items()}
