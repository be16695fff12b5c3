"""Lambda's SQS poller on Redis: a batch is what waits in the queue when a receive starts.

Sent messages wait in one Redis list per queue. A receive (an RQ job, started by a send when none is
on its way) moves up to BatchSize of them out, waiting up to MaximumBatchingWindowInSeconds from the
first for the rest, and saves them in its job; from there RQ's retries, the dead-letter registry and
`lightbox dlq replay` work on the batch as before. Every move is atomic and into a list named after
the job, so a worker killed while gathering loses nothing: its job runs again and starts from there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, cast

from redis import Redis

MESSAGES_KEY = "lightbox:sqs:messages:{0}"  # sent, waiting for the poller: SQS's "available" messages
RECEIVING_KEY = "lightbox:sqs:receiving:{0}"  # a receive is queued or gathering (its job id)
TAKEN_KEY = "lightbox:sqs:taken:{0}"  # by job id: moved out by a receive that has not saved them yet
ACTIVE_KEY = "lightbox:sqs:active:{0}"  # receives holding a batch (job id -> when it is given up on)

# Up to ARGV[1] messages from the queue's list to the receive's own, in order, at once.
_MOVE = """
local moved = {}
for i = 1, tonumber(ARGV[1]) do
  local m = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
  if not m then break end
  moved[#moved + 1] = m
end
return moved
"""

Keep = Callable[[dict[str, Any]], bool]


def gather(connection: Redis, queue: str, job_id: str, batch_size: int, window: float,
           keep: Keep) -> list[dict[str, Any]]:
    """Up to `batch_size` messages `keep` accepts; those it refuses are taken and dropped, as Lambda
    deletes messages no filter matches. The window starts at the first message, so a receive that
    finds the queue empty returns at once."""
    taken = TAKEN_KEY.format(job_id)
    source = MESSAGES_KEY.format(queue)
    moved = [json.loads(m) for m in cast(list[bytes], connection.lrange(taken, 0, -1))]  # a killed attempt's
    batch = [m for m in moved if keep(m)]
    deadline = time.monotonic() + window if moved else None
    move = connection.register_script(_MOVE)
    while len(batch) < batch_size:
        got = cast(list[bytes], move(keys=[source, taken], args=[batch_size - len(batch)]))
        if not got:
            left = deadline - time.monotonic() if deadline is not None else 0.0
            if left <= 0:
                break
            # redis-py types the timeout as whole seconds; Redis (6+) takes fractions.
            one = connection.blmove(source, taken, cast(int, round(left, 3) or 0.001), src="LEFT", dest="RIGHT")
            if one is None:
                break
            got = [cast(bytes, one)]
        if deadline is None:
            deadline = time.monotonic() + window
        batch.extend(m for m in (json.loads(g) for g in got) if keep(m))
    return batch


# Everything a receive took, back to the front of the queue's list in the order it was taken.
_PUT_BACK = """
local n = 0
while redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') do n = n + 1 end
return n
"""


def put_back(connection: Redis, queue: str, job_id: str) -> int:
    """What a receive that died gathering had taken (it may run again: then it takes it again)."""
    return int(cast(int, connection.register_script(_PUT_BACK)(keys=[TAKEN_KEY.format(job_id),
                                                                   MESSAGES_KEY.format(queue)])))


def forget_taken(connection: Redis, job_id: str) -> None:
    """Once the batch is saved in its job, the receive's own list has done its work."""
    connection.delete(TAKEN_KEY.format(job_id))


def waiting(connection: Redis, queue: str) -> int:
    return int(cast(int, connection.llen(MESSAGES_KEY.format(queue))))


def active(connection: Redis, queue: str) -> int:
    """Receives holding a batch now (for ScalingConfig.MaximumConcurrency)."""
    key = ACTIVE_KEY.format(queue)
    connection.zremrangebyscore(key, "-inf", time.time())  # a killed worker's, once given up on
    return int(cast(int, connection.zcard(key)))


def hold(connection: Redis, queue: str, job_id: str, seconds: float) -> None:
    connection.zadd(ACTIVE_KEY.format(queue), {job_id: time.time() + seconds})


def release(connection: Redis, queue: str, job_id: str) -> None:
    connection.zrem(ACTIVE_KEY.format(queue), job_id)
