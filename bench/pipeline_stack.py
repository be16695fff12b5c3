"""`lightbox up` driven as a client would, for bench_pipeline.py: start it, upload through presigned
POSTs, learn when each photo finished from the event stream, and read back what the stack recorded
(invocation log lines, RQ job times, CPU seconds per process)."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from redis import Redis
from rq import Queue, Worker
from rq.job import Job
from rq.registry import FinishedJobRegistry
from rq.serializers import JSONSerializer

from lightbox.template.loader import load_template
from lightbox.testing.up import start_up

ROOT = Path(__file__).resolve().parents[1]
STREAM = "lightbox:events"
FINAL = ("photo.processing.completed", "photo.processing.failed")
TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".heic": "image/heic"}
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Stack:
    proc: subprocess.Popen[bytes]
    url: str
    redis: Redis
    log_path: Path


def start(data_dir: Path, workers: int, extra_env: dict[str, str] | None = None) -> Stack:
    """`lightbox up --workers N` on embedded Redis and S3, as a user starts it, logging JSON lines."""
    env = {"LIGHTBOX_LOG_FORMAT": "json", "LIGHTBOX_PARAMETER_OVERRIDES": f"PhotosDbPath={data_dir}/photos.db",
           **(extra_env or {})}
    up = start_up(data_dir, ["--workers", str(workers)], env=env, cwd=ROOT)
    redis = Redis.from_url(up.redis_url)
    deadline = time.monotonic() + 90
    while len(Worker.all(connection=redis)) < workers:  # workers register once they have imported
        if time.monotonic() > deadline:
            up.stop()
            raise RuntimeError("the workers did not register with Redis")
        time.sleep(0.2)
    return Stack(up.proc, up.url, redis, up.log_path)


def stop(stack: Stack) -> None:
    if stack.proc.poll() is None:
        stack.proc.send_signal(signal.SIGINT)  # as Ctrl-C: `up` stops its workers and services
        try:
            stack.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            stack.proc.kill()
            stack.proc.wait()
    stack.redis.close()


@functools.cache
def auth(client: str = "bench") -> dict[str, str]:
    """A client token as `python -m photolib.auth issue` makes it for template.yaml's secret."""
    from photolib import auth as photo_auth

    secret = load_template(ROOT / "template.yaml").function("UploadFunction").environment["TOKEN_SECRET"]
    return {"Authorization": f"Bearer {photo_auth.issue(client, secret)}"}


def upload(url: str, path: Path, data: bytes, http: requests.Session) -> str:
    """POST /uploads, then the bytes straight to S3 with the presigned POST; returns the photo id."""
    content_type = TYPES[path.suffix.lower()]
    created = http.post(
        f"{url}/uploads",
        json={"filename": path.name, "content_type": content_type, "size": len(data)},
        headers=auth(),
        timeout=30,
    )
    created.raise_for_status()
    body = created.json()
    post = body["upload"]["post"]
    sent = http.post(
        post["url"], data=post["fields"], files={"file": (path.name, data, content_type)}, timeout=60
    )
    sent.raise_for_status()
    return str(body["photo"]["id"])


def stream_position(redis: Redis) -> str:
    last = redis.xrevrange(STREAM, count=1)
    return last[0][0].decode() if last else "0-0"


def wait_final(redis: Redis, ids: set[str], after: str, timeout: float) -> dict[str, tuple[str, float]]:
    """Block on the event stream until every photo in ids has finished; photo id -> (event type,
    epoch seconds of the stream entry). Stream ids are Redis' clock in ms, so how often we read
    does not move the times."""
    final: dict[str, tuple[str, float]] = {}
    deadline = time.monotonic() + timeout
    while len(final) < len(ids) and time.monotonic() < deadline:
        for _, entries in redis.xread({STREAM: after}, block=1000, count=500) or []:
            for entry_id, fields in entries:
                after = entry_id.decode()
                photo_id = fields[b"photo_id"].decode()
                if photo_id in ids and fields[b"type"].decode() in FINAL:
                    final[photo_id] = (fields[b"type"].decode(), int(after.split("-")[0]) / 1000)
    return final


def stage_events(redis: Redis, ids: set[str], after: str) -> dict[str, list[tuple[str, float]]]:
    """Per photo, (event type or stage name, epoch seconds) of every event it had, in order."""
    out: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for entry_id, fields in redis.xrange(STREAM, min=f"({after}"):
        photo_id = fields[b"photo_id"].decode()
        if photo_id in ids:
            event = json.loads(fields[b"event"])
            what = event["data"].get("stage") if event["type"] == "photo.stage.completed" else event["type"]
            out[photo_id].append((what, int(entry_id.decode().split("-")[0]) / 1000))
    return out


def invocations(log_path: Path, since: float) -> dict[str, list[float]]:
    """Function -> duration_ms of each invocation the runtime logged at or after `since` (epoch)."""
    out: dict[str, list[float]] = defaultdict(list)
    for line in log_path.read_text(errors="replace").splitlines():
        if not line.startswith("{") or '"duration_ms"' not in line:
            continue
        record = json.loads(line)
        when = (
            datetime.strptime(record["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
            if "time" in record
            else since
        )
        if record.get("outcome") == "ok" and when >= since:
            out[record["function"]].append(float(record["duration_ms"]))
    return out


@dataclass(frozen=True)
class JobRun:
    queue: str
    worker: str
    enqueued: float  # epoch seconds, RQ's own timestamps
    started: float
    ended: float


def job_runs(redis: Redis, queues: list[str], since: float) -> list[JobRun]:
    """The jobs that finished on these queues and were enqueued at or after `since` (epoch seconds)."""
    out: list[JobRun] = []
    for name in queues:
        registry = FinishedJobRegistry(queue=Queue(name, connection=redis, serializer=JSONSerializer))
        for job in Job.fetch_many(registry.get_job_ids(), connection=redis, serializer=JSONSerializer):
            if job is None or not (job.enqueued_at and job.started_at and job.ended_at):
                continue
            run = JobRun(
                name,
                str(job.worker_name),
                _epoch(job.enqueued_at),
                _epoch(job.started_at),
                _epoch(job.ended_at),
            )
            if run.enqueued >= since:
                out.append(run)
    return out


def _epoch(when: datetime) -> float:
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()  # RQ writes UTC


def process_tree(root: int) -> dict[int, str]:
    """pid -> role of `up` and everything it started (gateway, workers, their RQ schedulers, services)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root: "gateway, poller (lightbox up)"}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree[pid] = _role(pid, tree[parent])
                frontier.append(pid)
    return tree


def _role(pid: int, parent_role: str) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "exited"
    if parent_role.startswith("worker"):
        return "RQ scheduler (forked by a worker)"
    if "redis-server" in cmd:
        return "Redis (embedded redis-server)"
    if "lightbox.services.cloud" in cmd or "moto.server" in cmd:
        return "S3 + SQS (embedded moto server)"
    if "-m lightbox worker" in cmd:
        return "worker"
    return cmd[:60]


def process_cpu(pid: int) -> float:
    """user + system CPU seconds the process has used so far; OSError once it is gone."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14, 15 of stat)


def cpu_seconds(pids: dict[int, str]) -> dict[int, float]:
    """process_cpu of each process (0 for one that is gone)."""
    out: dict[int, float] = {}
    for pid in pids:
        try:
            out[pid] = process_cpu(pid)
        except OSError:
            out[pid] = 0.0
    return out
