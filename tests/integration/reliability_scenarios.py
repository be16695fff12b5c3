"""Faults and bad inputs played against a running PhotoStack, each counted the same way: photos
in, refused at the API (a clear 4xx), completed, failed with a reason, lost. The tests run them
small and assert on them; bench/reliability.py runs them larger and writes docs/reliability.md.
"""

from __future__ import annotations

import io
import random
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from photo_client import ROOT
from photo_stack import DERIVATIVE_KINDS, STAGE_QUEUES, TRANSIENT_MARK, PhotoStack, Upload
from PIL import Image
from rq import Worker
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

CORPUS = ROOT / "tests" / "corpus"
CANON = CORPUS / "exif" / "Canon_40D.jpg"


@dataclass
class Outcome:
    scenario: str
    photos_in: int = 0
    refused: int = 0  # a 4xx at the API (or at the bucket) with an error message
    completed: int = 0  # completed, with every derivative and stage result, and no extra blob
    failed: int = 0  # failed, with a reason
    lost: int = 0  # anything else: not final, failed without a reason, completed but incomplete
    notes: str = ""
    detail: dict[str, str] = field(default_factory=dict)  # input or photo -> what became of it

    def row(self) -> list[str]:
        return [self.scenario, str(self.photos_in), str(self.refused), str(self.completed), str(self.failed),
                str(self.lost), self.notes]


def photo(width: int = 1200, height: int = 900, seed: int = 0) -> bytes:
    """A JPEG with enough detail that every stage does real work on it."""
    noise = Image.effect_noise((width // 4, height // 4), 40 + seed % 20).resize((width, height))
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (noise, noise.rotate(90, expand=False), gradient))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def judge(stack: PhotoStack, outcome: Outcome, ids: list[str], timeout: float = 60.0) -> dict[str, str]:
    """Wait for the photos to settle, then count them; returns id -> completed | failed | lost."""
    status = stack.wait_final(ids, timeout)
    rows = stack.photos(ids)
    verdict: dict[str, str] = {}
    for pid in ids:
        row = rows.get(pid)
        if row is None:
            verdict[pid] = "lost: no row"
        elif status[pid] == "completed":
            blobs = stack.blobs(f"derivatives/{row['client_id']}/{pid}/")
            whole = (stack.derivatives(pid) == DERIVATIVE_KINDS and len(blobs) == len(DERIVATIVE_KINDS)
                     and len(stack.stage_results(pid)) == len(STAGE_QUEUES))
            verdict[pid] = "completed" if whole else f"lost: completed with derivatives {sorted(blobs)}"
        elif status[pid] == "failed" and row["failure_reason"]:
            verdict[pid] = "failed"
            outcome.detail.setdefault(pid, f"failed at {row['stage']}: {row['failure_reason']}")
        else:
            verdict[pid] = f"lost: {status[pid]}"
    outcome.photos_in += len(ids)
    outcome.completed += sum(v == "completed" for v in verdict.values())
    outcome.failed += sum(v == "failed" for v in verdict.values())
    outcome.lost += sum(v.startswith("lost") for v in verdict.values())
    for pid, v in verdict.items():
        if v.startswith("lost"):
            outcome.detail[pid] = v
    return verdict


def _uploads(stack: PhotoStack, n: int, client: str = "alice") -> list[Upload]:
    data = photo()
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: stack.upload(data, client=client), range(n)))


# --- faults -----------------------------------------------------------------------------------


def worker_killed_mid_stage(stack: PhotoStack, photos: int = 4) -> tuple[Outcome, set[str]]:
    """SIGKILL the worker running a job of each stage (S3 slowed so the job is caught mid-call);
    a replacement starts, the dead worker's job runs again. Returns the queues a kill landed in."""
    outcome = Outcome("worker SIGKILLed in the middle of each stage")
    uploads = _uploads(stack, photos)
    stack.proxy.latency = 0.3
    stack.deliver(uploads)
    conn = stack.connection()
    killed: set[str] = set()
    deadline = time.monotonic() + 30
    while killed != set(STAGE_QUEUES) and time.monotonic() < deadline:
        for queue in set(STAGE_QUEUES) - killed:
            running = StartedJobRegistry(queue, connection=conn).get_job_ids(cleanup=False)
            if not running:
                continue
            job = Job.fetch(running[0], connection=conn, serializer=JSONSerializer)
            worker = Worker.find_by_key(f"{Worker.redis_worker_namespace_prefix}{job.worker_name}", connection=conn)
            proc = stack.worker_by_pid(worker.pid) if worker and worker.pid else None
            if proc is not None:
                stack.kill_worker(proc)
                stack.start_worker()
                killed.add(queue)
        time.sleep(0.005)
    stack.proxy.latency = 0.0
    judge(stack, outcome, [u.photo_id for u in uploads], timeout=60)
    outcome.notes = f"{len(killed)} kills, one per stage; each killed job ran again on another worker"
    return outcome, killed


def redis_restarted(stack: PhotoStack, photos: int = 20) -> Outcome:
    """Workers paused, events delivered (jobs queued), redis-server stopped and started on its
    AOF; then the workers resume and a second batch goes through the same api processes."""
    outcome = Outcome("Redis restarted with jobs queued (AOF)")
    first, second = _uploads(stack, photos // 2), _uploads(stack, photos - photos // 2)
    for proc in stack.workers:
        proc.send_signal(19)  # SIGSTOP: nothing is taken off the queues while Redis goes away
    stack.deliver(first)
    queued = sum(stack.unsettled_jobs().values())
    stack.restart_redis()
    for proc in stack.workers:
        proc.send_signal(18)  # SIGCONT
    stack.deliver(second)
    judge(stack, outcome, [u.photo_id for u in first + second], timeout=60)
    outcome.notes = f"{queued} jobs queued at the restart; api and workers reconnected on their own"
    return outcome


def s3_down(stack: PhotoStack, photos: int = 10, seconds: float = 5.0) -> Outcome:
    outcome = Outcome(f"S3 unreachable for {seconds:g} s during processing")
    uploads = _uploads(stack, photos)
    stack.deliver(uploads)
    time.sleep(0.2)
    stack.proxy.down()
    in_flight = sum(row["status"] != "completed" for row in stack.photos(u.photo_id for u in uploads).values())
    time.sleep(seconds)
    stack.proxy.up()
    judge(stack, outcome, [u.photo_id for u in uploads], timeout=60)
    outcome.notes = f"{in_flight} photos unfinished when it went down; calls retried with backoff"
    return outcome


def s3_down_past_every_retry(stack: PhotoStack, photos: int = 10,
                             seconds: float = 16.0) -> tuple[Outcome, dict[str, Any]]:
    """S3 gone for longer than every retry (start the stack with MaxReceiveCount=1 and a short
    RETRY_SECONDS): photos in a stage fail with the transient reason and only their messages are
    in the stage DLQs; photos whose bucket event gave up are admitted by the next reconcile run."""
    outcome = Outcome(f"S3 unreachable for {seconds:g} s, past every retry")
    uploads = _uploads(stack, photos)
    ids = [u.photo_id for u in uploads]
    stack.deliver(uploads)
    deadline = time.monotonic() + 30
    while all(r["status"] == "pending_upload" for r in stack.photos(ids).values()) and time.monotonic() < deadline:
        time.sleep(0.01)  # down once the first photo is in a stage
    stack.proxy.down()
    time.sleep(seconds)
    stack.proxy.up()
    stack.wait_final(ids, timeout=60, until_idle=True)
    repaired = stack.reconcile()
    verdict = judge(stack, outcome, ids, timeout=60)
    stack.wait_settled(30)
    rows = stack.photos(ids)
    transient = {pid for pid, v in verdict.items() if v == "failed" and TRANSIENT_MARK in rows[pid]["failure_reason"]}
    dlq = stack.dead_letter_photos()
    outcome.notes = (f"stage DLQs hold {len(dlq)} photos = the {len(transient)} failed for transient reasons: "
                     f"{dlq == transient}; reconcile then admitted {repaired.get('redriven_queued', 0)} "
                     "whose event gave up")
    return outcome, {"dlq": dlq, "transient_failures": transient, "repaired": repaired}


def events_duplicated_and_lost(stack: PhotoStack, photos: int = 10) -> tuple[Outcome, dict[str, int]]:
    """Every bucket event delivered twice but one never; one photo queued whose stage message was
    lost. One reconcile run repairs both."""
    outcome = Outcome("bucket events twice, one never; a stage message lost")
    uploads = _uploads(stack, photos)
    delivered = uploads[:-2]  # uploads[-2]'s event never comes
    stack.deliver(delivered)
    stack.deliver(delivered)
    # The state ingest leaves when its stage message is lost on the way (row queued, no message).
    stuck = uploads[-1]
    with sqlite3.connect(stack.db, timeout=30) as db:
        db.execute("UPDATE photos SET status = 'queued', size = declared_size WHERE id = ?", (stuck.photo_id,))
    stack.wait_final([u.photo_id for u in delivered], timeout=60)
    repaired = stack.reconcile()
    judge(stack, outcome, [u.photo_id for u in uploads], timeout=60)
    outcome.notes = f"one reconcile run: {dict(sorted(repaired.items()))}"
    return outcome, repaired


def sqlite_locked(stack: PhotoStack, photos: int = 10, seconds: float = 3.0) -> tuple[Outcome, list[int]]:
    """Another process holds SQLite's write lock while photos go through and a client creates uploads."""
    outcome = Outcome(f"SQLite write-locked for {seconds:g} s by another writer")
    uploads = _uploads(stack, photos)
    locked = threading.Event()

    def hold() -> None:
        db = sqlite3.connect(stack.db, timeout=30, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE photos SET updated_at = updated_at WHERE 0")
        locked.set()
        time.sleep(seconds)
        db.execute("COMMIT")
        db.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait()
    stack.deliver(uploads)
    # What a client sees meanwhile: requests that write wait for the lock, none fails.
    statuses = [stack.create_upload("during-lock.jpg", "image/jpeg", 10).status_code for _ in range(3)]
    holder.join()
    judge(stack, outcome, [u.photo_id for u in uploads], timeout=60)
    outcome.notes = f"stages and POST /uploads waited for the lock (API answered {sorted(set(statuses))})"
    return outcome, statuses


# --- load with chaos ------------------------------------------------------------------------------


def load_with_kills(stack: PhotoStack, photos: int = 60, clients: int = 10, kill_every: float = 0.7,
                    bad_every: int = 10, seed: int = 6) -> tuple[Outcome, dict[str, Any]]:
    """`clients` clients upload `photos` photos at once (every `bad_every`-th a truncated JPEG)
    while a worker is SIGKILLed and replaced every ~kill_every seconds."""
    outcome = Outcome(f"{photos} photos by {clients} clients, workers killed at random")
    rng = random.Random(seed)
    canon = CANON.read_bytes()
    good, bad = photo(800, 600), canon[: len(canon) // 2]
    stop = threading.Event()
    kills = 0

    def chaos() -> None:
        nonlocal kills
        while not stop.wait(rng.uniform(0.5, 1.5) * kill_every):
            if stack.workers:
                stack.kill_worker(rng.choice(stack.workers))
                stack.start_worker()
                kills += 1

    def client(c: int) -> list[Upload]:
        mine = []
        for i in range(c, photos, clients):
            data = bad if bad_every and i % bad_every == bad_every - 1 else good
            u = stack.upload(data, client=f"client{c}")
            stack.deliver([u])
            mine.append(u)
        return mine

    killer = threading.Thread(target=chaos)
    killer.start()
    try:
        with ThreadPoolExecutor(clients) as pool:
            uploads = [u for batch in pool.map(client, range(clients)) for u in batch]
        ids = [u.photo_id for u in uploads]
        # Generous: it returns as soon as no job is left anywhere; reconcile must not meet work in flight.
        stack.wait_final(ids, timeout=max(120.0, photos * 1.0), until_idle=True)
    finally:
        stop.set()
        killer.join()
    # A job whose last receive was killed sits in the DLQ with its photo unfinished (no handler
    # lived to fail it, as with a Lambda killed on its last attempt): reconcile's run resumes such
    # photos, as the scheduled run would.
    unfinished = {pid for pid, row in stack.photos(ids).items() if row["status"] not in ("completed", "failed")}
    resumed = stack.reconcile()
    verdict = judge(stack, outcome, ids, timeout=60)
    unsettled = stack.wait_settled(30)
    rows = stack.photos(ids)
    transient = {pid for pid, v in verdict.items()
                 if v == "failed" and TRANSIENT_MARK in (rows[pid]["failure_reason"] or "")}
    dlq = stack.dead_letter_photos()
    facts: dict[str, Any] = {"kills": kills, "unsettled": unsettled, "dlq": dlq, "transient_failures": transient,
                             "unfinished": unfinished, "resumed": resumed}
    outcome.notes = (f"{kills} workers SIGKILLed; DLQ: {len(dlq & transient)} photos failed for transient reasons "
                     f"+ {len(dlq - transient)} whose last receive was killed (resumed by reconcile); "
                     f"{len(unfinished)} resumed in all; jobs left: {unsettled or 0}")
    return outcome, facts


STAGE_FAULTS = ROOT / "tests" / "integration" / "stage_faults"


def stage_fault_env(fault: str, function: str = "MetadataFunction") -> dict[str, str]:
    """PhotoStack.start(env=...) for a stage whose first receive of each message crashes its
    process (`crash`: os._exit(3)) or loops past its Timeout (`loop`): stage_faults/sitecustomize.py."""
    return {"PYTHONPATH": str(STAGE_FAULTS), "LIGHTBOX_TEST_STAGE_FAULT": f"{function}:{fault}"}


def stage_fault(stack: PhotoStack, fault: str, photos: int = 4) -> Outcome:
    """The stage's environment dies on the first receive of each message (Runtime.ExitError, or
    Sandbox.Timedout and killed); the message is received again, in a new environment, and the
    photo completes. Workers keep serving throughout."""
    what = "crashes its process (os._exit)" if fault == "crash" else "is stuck in a loop past its Timeout"
    outcome = Outcome(f"a stage that {what} on each message's first receive")
    uploads = _uploads(stack, photos)
    ids = [u.photo_id for u in uploads]
    stack.deliver(uploads)
    judge(stack, outcome, ids, timeout=240)
    alive = all(w.poll() is None for w in stack.workers)
    error = "Runtime.ExitError" if fault == "crash" else "Sandbox.Timedout"
    outcome.notes = (f"each photo's metadata message failed once ({error}) and was received again; "
                     f"workers kept serving: {alive}")
    return outcome
