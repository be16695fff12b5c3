"""RQ queue whose workers take a job without ever holding it where nobody can find it again.

RQ takes from several queues with BLPOP: the job id leaves the queue before the worker has
recorded it anywhere, so a worker killed, paused or cut off from Redis right then loses the
job for good (a Redis restart while workers were blocked lost two jobs this way). SQS never
does that: a received message comes back after its visibility timeout. Here every take is an
atomic move into RQ's per-queue intermediate list (RQ's own LMOVE for a one-queue worker), from
which a dead worker's job is recovered. Redis has no blocking move from several lists, so an
idle worker blocks on a "doorbell" stream that every push rings, and looks again. The take
ends with a claim when the worker starts the job, so a worker that was stopped while
maintenance gave its job to another does not run it too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, cast

from redis import Redis
from redis.client import Pipeline
from rq import Queue
from rq.exceptions import DequeueTimeout, NoSuchJobError
from rq.job import Job, JobStatus

DOORBELL_KEY = "lightbox:doorbell"
# A push that does not ring (RQ's scheduler moving a due retry, rq-dashboard's requeue) is seen
# at the next look; this bounds how late. Idle, a worker makes this many cheap looks a second.
LOOK_AGAIN_SECONDS = 0.25

# Take the first job of the first non-empty queue into its intermediate list, atomically (LPOP +
# RPUSH inside the script is RQ's LMOVE LEFT RIGHT, and runs on Redis before 6.2 too), and read
# the job with it (what Job.fetch would read next, one round trip less); when all are empty,
# answer the doorbell's last ring so a push after this look wakes the waiter.
_TAKE = """
for i = 1, #KEYS - 1, 2 do
  local id = redis.call('LPOP', KEYS[i])
  if id then
    redis.call('RPUSH', KEYS[i + 1], id)
    return {KEYS[i], id, redis.call('HGETALL', ARGV[1] .. id)}
  end
end
local last = redis.call('XREVRANGE', KEYS[#KEYS], '+', '-', 'COUNT', 1)
if #last > 0 then return {'', last[1][1]} end
return {'', '0-0'}
"""


# The step that ends a take, when the worker starts the job: out of the intermediate list and
# marked started at once (a worker killed right after leaves an abandoned started job, which RQ's
# cleanup retries), or not to be run when maintenance took the job back meanwhile or the job was
# deleted since (its id is dropped; HSET would bring back a stub of it). A claimed job is read
# again: one taken back and taken again since our take has fewer retries left.
_CLAIM = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[3])
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'status', ARGV[2])
return redis.call('HGETALL', KEYS[2])
"""


def claim(connection: Redis, queue: Queue, job: Job) -> bool:
    """Claim a job this worker took from `queue`, and bring `job` up to date with Redis;
    False if it is no longer this worker's to run."""
    taken = queue.intermediate_queue
    keys = [taken.key, job.key, taken.get_first_seen_key(job.id)]
    fields = connection.register_script(_CLAIM)(keys=keys, args=[job.id, JobStatus.STARTED.value])
    if not fields:
        return False
    try:
        job.restore(_as_hash(fields))
    except NoSuchJobError:  # a stub hash with no job in it (fields written after a delete)
        return False
    return True


def _as_hash(fields: list[Any]) -> dict[bytes, bytes]:
    """HGETALL's reply inside a script (a flat list) as redis-py gives it outside one."""
    return dict(zip(fields[::2], fields[1::2], strict=True))


def ring(connection: Redis | Pipeline, queue: str) -> None:
    """Wake idle workers: a job is waiting on `queue`."""
    connection.xadd(DOORBELL_KEY, {"queue": queue}, maxlen=100, approximate=True)


class LightboxQueue(Queue):
    def push_job_id(self, job_id: str, pipeline: Pipeline | None = None, at_front: bool = False) -> None:
        super().push_job_id(job_id, pipeline=pipeline, at_front=at_front)
        ring(pipeline if pipeline is not None else self.connection, self.name)

    @classmethod
    def dequeue_any(cls, queues: Iterable[Queue], timeout: int | None, connection: Redis,
                    job_class: type[Job] | None = None, serializer: Any = None,
                    death_penalty_class: Any = None) -> tuple[Job, Queue] | None:
        """RQ's contract (first job of the first non-empty queue; None, or DequeueTimeout after
        `timeout` seconds, when there is none), with every take recoverable."""
        queues = list(queues)
        keys = [k for q in queues for k in (q.key, q.intermediate_queue_key)] + [DOORBELL_KEY]
        take = connection.register_script(_TAKE)
        prefix = (job_class or cls.job_class).redis_job_namespace_prefix
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            taken = cast(list[Any], take(keys=keys, args=[prefix]))
            queue_key, value = (v.decode() if isinstance(v, bytes) else str(v) for v in taken[:2])
            if queue_key:
                queue = cls.from_queue_key(queue_key, connection=connection, job_class=job_class,
                                           serializer=serializer, death_penalty_class=death_penalty_class)
                job = queue.job_class(value, connection=connection, serializer=queue.serializer)
                try:
                    job.restore(_as_hash(taken[2]))  # raises on an empty hash too
                except NoSuchJobError:
                    continue  # deleted while queued; RQ's intermediate-queue cleanup drops the id
                return job, queue
            if deadline is None:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise DequeueTimeout(timeout, [q.key for q in queues])
            wait_ms = max(1, int(min(left, LOOK_AGAIN_SECONDS) * 1000))
            connection.xread({DOORBELL_KEY: value}, count=1, block=wait_ms)
