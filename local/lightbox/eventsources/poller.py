"""Lambda's poller for one stream event source mapping (DynamoDB stream or Kinesis): a thread in
`lightbox up` that reads each shard in order and invokes the function synchronously, batch by batch.

Per shard, as Lambda does: gather up to BatchSize records (waiting up to MaximumBatchingWindowInSeconds
from the first), drop what no FilterCriteria pattern matches, invoke; on an error retry the batch
(MaximumRetryAttempts, -1 until the records are older than MaximumRecordAgeInSeconds), splitting it in
two first when BisectBatchOnFunctionError; with ReportBatchItemFailures, resume from the first failed
sequence number. A batch given up on goes to DestinationConfig.OnFailure as AWS's invocation record,
and the shard moves on. Nothing after a failing batch is read until it is done: a shard stays in order.
ParallelizationFactor > 1 splits a batch by partition key (item key for DynamoDB) into that many
concurrent invocations: order holds per key, not across keys.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lightbox.eventsources import checkpoints
from lightbox.eventsources.destinations import Discard
from lightbox.eventsources.shards import NotThereYet, Shards, arrival, key_of, sequence_number
from lightbox.runtime.invoke import Runtime
from lightbox.sqs.delivery import batch_item_failures
from lightbox.template.model import StreamTrigger

log = logging.getLogger("lightbox.eventsources")
_SERVICE_ERRORS = (BotoCoreError, ClientError)

POLL_SECONDS = 0.01  # an idle shard is read this often: a record reaches its function within about this
_LOOK_AGAIN_SECONDS = 1.0  # a table or stream that does not exist yet is looked for again this often
_MAX_BACKOFF_SECONDS = 30.0


class StreamPoller(threading.Thread):
    def __init__(self, function: str, trigger: StreamTrigger, runtime: Runtime, open_shards: Callable[[], Shards],
                 keep: Callable[[dict[str, Any]], bool], store: checkpoints.Checkpoints, discard: Discard,
                 retry_base: float) -> None:
        super().__init__(name=f"lightbox-{trigger.source}-{function}-{trigger.event_name}", daemon=True)
        self.function, self.trigger, self.runtime = function, trigger, runtime
        self.open_shards, self.keep, self.store, self.discard = open_shards, keep, store, discard
        self.retry_base = retry_base
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    @property
    def stopped(self) -> bool:
        return self._stop_event.is_set()

    def run(self) -> None:
        shards = self._open()
        if shards is None:
            return
        iterators: dict[str, str | None] = {}
        buffers: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        while not self.stopped:
            busy = False
            try:
                for shard in shards.shard_ids():
                    if shard not in iterators:
                        after = self.store.position(shards.arn, shard)
                        iterators[shard] = shards.iterator(shard, self.trigger.starting_position,
                                                           self.trigger.starting_timestamp, after)
                    busy |= self._poll(shards, shard, iterators, buffers)
            except _SERVICE_ERRORS as exc:  # the service went away (up stopping, a moto restart): look again
                if self.stopped:
                    return
                log.warning("%s: reading %s failed (%s); reading again", self.name, self.trigger.arn, exc)
                iterators.clear()
                self._stop_event.wait(_LOOK_AGAIN_SECONDS)
            if not busy:
                self._stop_event.wait(POLL_SECONDS)

    def _open(self) -> Shards | None:
        said = False
        while not self.stopped:
            try:
                return self.open_shards()
            except NotThereYet as exc:
                if not said:
                    log.warning("%s: %s; its records reach %s once it does", self.name, exc, self.function)
                    said = True
            except _SERVICE_ERRORS as exc:  # the embedded service is still starting
                if not said:
                    log.warning("%s: cannot read %s yet (%s)", self.name, self.trigger.arn, exc)
                    said = True
            self._stop_event.wait(_LOOK_AGAIN_SECONDS)
        return None

    def _poll(self, shards: Shards, shard: str, iterators: dict[str, str | None],
              buffers: dict[str, tuple[float, list[dict[str, Any]]]]) -> bool:
        """Read once; run a batch when it is full or its window is over. True when records came."""
        iterator = iterators.get(shard)
        started, buffered = buffers.get(shard, (time.monotonic(), []))
        got = []
        if iterator is not None:
            batch = shards.read(shard, iterator, self.trigger.batch_size - len(buffered))
            iterators[shard] = batch.next_iterator
            got = batch.records
            self.store.lag(shards.arn, shard, batch.millis_behind, got)
        if got and not buffered:
            started = time.monotonic()
        buffered = buffered + got
        window_over = time.monotonic() - started >= self.trigger.maximum_batching_window
        if buffered and (len(buffered) >= self.trigger.batch_size or window_over or iterators[shard] is None):
            buffers.pop(shard, None)
            self._run(shards.arn, shard, buffered)
            if not self.stopped:  # stopped mid-batch: it is read again at the next start
                self.store.advance(shards.arn, shard, sequence_number(buffered[-1]))
        elif buffered:
            buffers[shard] = (started, buffered)
        return bool(got)

    def _run(self, arn: str, shard: str, records: list[dict[str, Any]]) -> None:
        wanted = [r for r in records if self.keep(r)]  # the rest are passed over, as Lambda drops them
        factor = max(1, self.trigger.parallelization_factor)
        if factor == 1 or len(wanted) < 2:
            self._deliver(arn, shard, wanted)
            return
        lanes: dict[int, list[dict[str, Any]]] = {}
        for r in wanted:
            lanes.setdefault(zlib.crc32(key_of(r).encode()) % factor, []).append(r)
        with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
            list(pool.map(lambda lane: self._deliver(arn, shard, lane), lanes.values()))

    def _deliver(self, arn: str, shard: str, records: list[dict[str, Any]]) -> None:
        pending = [records] if records else []
        while pending and not self.stopped:
            batch = pending.pop(0)
            attempts = 0
            while not self.stopped:
                if self._too_old(batch):
                    self.discard(self.function, self.trigger, arn, shard, batch, attempts, "RecordAgeExceeded", None)
                    break
                inv = self.runtime.invoke(self.function, {"Records": batch},
                                          trigger=f"{self.trigger.source}:{self.trigger.stream_name}")
                attempts += 1
                failed_from = self._failed_from(batch, inv.result) if inv.ok else 0
                if failed_from is None:
                    break
                if failed_from > 0:  # checkpoint at the first failure; the rest is the batch now
                    batch = batch[failed_from:]
                if self.trigger.bisect_on_error and len(batch) > 1 and not inv.ok:
                    half = len(batch) // 2
                    pending[:0] = [batch[:half], batch[half:]]
                    log.warning("%s failed on %d record(s) of %s: split in two", self.function, len(batch), arn)
                    break
                retries = self.trigger.maximum_retry_attempts
                if 0 <= retries < attempts:
                    self.discard(self.function, self.trigger, arn, shard, batch, attempts, "RetryAttemptsExhausted",
                                 repr(inv.error) if inv.error else None)
                    break
                log.warning("%s failed on %d record(s) of %s (attempt %d): %s; retried", self.function, len(batch),
                            arn, attempts, repr(inv.error) if inv.error else "batchItemFailures")
                self._stop_event.wait(min(self.retry_base * 2 ** (attempts - 1), _MAX_BACKOFF_SECONDS))

    def _failed_from(self, batch: list[dict[str, Any]], result: Any) -> int | None:
        """Where the batch failed, by ReportBatchItemFailures (None: it did not)."""
        if not self.trigger.report_batch_item_failures:
            return None
        ids = [sequence_number(r) for r in batch]
        failed = batch_item_failures(result, set(ids))
        return min(ids.index(f) for f in failed) if failed else None

    def _too_old(self, batch: list[dict[str, Any]]) -> bool:
        age = self.trigger.maximum_record_age
        return age >= 0 and time.time() - arrival(batch[0]) > age
