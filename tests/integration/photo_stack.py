"""The photo app as separate processes, with handles to break its parts: the api under gunicorn,
`lightbox worker` processes that can be SIGKILLed, a private redis-server (AOF) that can be
restarted, and a TCP proxy in front of the S3 server that can be taken down. The test (or
bench/reliability.py) plays the client and MinIO's webhook.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import redis
import requests
from photo_client import ROOT, auth, minio_body, post_webhook
from rq import Queue
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer
from tcp_proxy import TcpProxy

from lightbox import config
from lightbox.services.processes import ManagedProcess, free_port, start_redis
from lightbox.sqs.queues import Broker
from lightbox.template.loader import load_template
from lightbox.testing.events import schedule_event

TOKEN = "reliability-token"
STAGE_QUEUES = ("ValidateQueue", "MetadataQueue", "ThumbnailsQueue", "OptimizeQueue")
DERIVATIVE_KINDS = {"thumb_150", "thumb_300", "thumb_600", "web_jpeg", "web_webp"}
# handle_message's words for a stage that failed on every receive: the transient kind of failure.
TRANSIENT_MARK = " times: "


@dataclass
class Upload:
    photo_id: str
    client: str
    key: str
    size: int
    etag: str


@dataclass
class PhotoStack:
    workdir: Path
    url: str
    bucket: str
    s3: Any  # straight to the S3 server, for the test's own look at the bucket
    proxy: TcpProxy
    redis_server: ManagedProcess
    db: Path
    env: dict[str, str]
    api: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _sessions: list[int] = field(default_factory=list)  # every worker's process group, killed ones too

    # --- lifecycle

    @classmethod
    def start(cls, workdir: Path, s3_url: str, workers: int = 2, parameters: str = "",
              env: dict[str, str] | None = None) -> PhotoStack:
        """parameters: more template parameter overrides ("MaxReceiveCount=1"); env: more variables."""
        redis_server = start_redis(workdir / "redis")
        redis_url = redis_server.url
        bucket = f"photos-{uuid.uuid4().hex[:8]}"
        s3 = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        proxy = TcpProxy(int(s3_url.rsplit(":", 1)[1]))
        port = free_port()
        db = workdir / "data" / "photos.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        stack_env = {
            **os.environ,
            "LIGHTBOX_TEMPLATE": str(ROOT / "template.yaml"), "REDIS_URL": redis_url, "S3_ENDPOINT_URL": proxy.url,
            "LIGHTBOX_SQS_ENDPOINT": f"http://127.0.0.1:{port}/_lightbox/sqs", "LIGHTBOX_WEBHOOK_TOKEN": TOKEN,
            "LIGHTBOX_PARAMETER_OVERRIDES":
                f"PhotosBucketName={bucket} PhotosDbPath={db} RedisUrl={redis_url} {parameters}",
            "LIGHTBOX_HEALTH_FILES": str(db), "LIGHTBOX_RETRY_BASE_SECONDS": "0.2", "LIGHTBOX_HOT_RELOAD": "0",
            "LIGHTBOX_LOG_FORMAT": "json", "INGEST_GRACE_MINUTES": "0", "STUCK_MINUTES": "0",
            **(env or {}),
        }
        api_env = {**stack_env, "LIGHTBOX_HOST": "127.0.0.1", "LIGHTBOX_PORT": str(port), "GUNICORN_WORKERS": "2",
                   "GUNICORN_THREADS": "32", "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus")}
        with (workdir / "api.log").open("wb") as log:
            api = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "infra/gunicorn.conf.py"], cwd=ROOT,
                                   env=api_env, stdout=log, stderr=subprocess.STDOUT)
        stack = cls(workdir, f"http://127.0.0.1:{port}", bucket, s3, proxy, redis_server, db, stack_env, api)
        try:
            for _ in range(workers):
                stack.start_worker()
            stack._wait_healthy()
        except BaseException:
            stack.stop()
            raise
        return stack

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 60  # a loaded box can take a while to import gunicorn's app
        while True:
            try:
                if requests.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.api.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.workdir / "api.log").read_text()[-3000:])
            time.sleep(0.1)

    def start_worker(self) -> subprocess.Popen[bytes]:
        # Own session: stop() takes the worker's RQ scheduler child with it. The child keeps its own
        # copy of the log's descriptor; ours is closed at once.
        with (self.workdir / f"worker{len(self._sessions) + 1}.log").open("wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "lightbox", "worker"], cwd=ROOT, env=self.env,
                                    stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        self.workers.append(proc)
        self._sessions.append(proc.pid)
        return proc

    def kill_worker(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker process alone (its scheduler child lives on, as after an OOM kill)."""
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.workers.remove(proc)

    def worker_by_pid(self, pid: int) -> subprocess.Popen[bytes] | None:
        return next((p for p in self.workers if p.pid == pid), None)

    def restart_redis(self, down_for: float = 0.5) -> None:
        """Stop redis-server (it writes its AOF on the way down) and start it on the same port and data."""
        port = int(self.redis_server.url.rsplit(":", 1)[1].split("/")[0])
        self.redis_server.stop()
        time.sleep(down_for)
        self.redis_server = start_redis(self.redis_server.workdir, port=port)

    def stop(self) -> None:
        for proc in [self.api, *self.workers]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [self.api, *self.workers]:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pgid in self._sessions:  # the workers' RQ scheduler children, killed workers' ones too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        self.proxy.down()
        self.redis_server.stop()
        for key in self.blobs(""):
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        self.s3.delete_bucket(Bucket=self.bucket)

    # --- the client's side

    def create_upload(self, filename: str, content_type: str, size: int, client: str = "alice") -> requests.Response:
        return requests.post(f"{self.url}/uploads", json={"filename": filename, "content_type": content_type,
                                                          "size": size}, headers=auth(client), timeout=30)

    def upload(self, data: bytes, content_type: str = "image/jpeg", filename: str = "photo.jpg",
               client: str = "alice", declared_size: int | None = None) -> Upload:
        """POST /uploads, then the bytes through the presigned POST form, as a browser sends them."""
        r = self.create_upload(filename, content_type, len(data) if declared_size is None else declared_size, client)
        assert r.status_code == 201, r.text
        created = r.json()
        post = created["upload"]["post"]
        sent = requests.post(post["url"], data=post["fields"], files={"file": (filename, data, content_type)},
                             timeout=30)
        assert sent.status_code in (200, 201, 204), sent.text
        key = post["fields"]["key"]
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        return Upload(created["photo"]["id"], client, key, head["ContentLength"], head["ETag"].strip('"'))

    def deliver(self, uploads: Iterable[Upload]) -> None:
        """What MinIO's webhook does: one body per 10 records."""
        batch = [(u.key, u.size, u.etag) for u in uploads]
        for start in range(0, len(batch), 10):
            r = post_webhook(self.url, minio_body(self.bucket, batch[start:start + 10]), TOKEN)
            assert r.status_code == 200, r.text

    # --- what happened, read from the sources of truth

    def _db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)
        conn.row_factory = sqlite3.Row
        return conn

    def photos(self, ids: Iterable[str]) -> dict[str, sqlite3.Row]:
        ids = list(ids)
        with self._db() as conn:
            rows = conn.execute(f"SELECT * FROM photos WHERE id IN ({', '.join('?' * len(ids))})", ids).fetchall()
        return {r["id"]: r for r in rows}

    def derivatives(self, photo_id: str) -> set[str]:
        with self._db() as conn:
            return {r["kind"] for r in conn.execute("SELECT kind FROM derivatives WHERE photo_id = ?", (photo_id,))}

    def stage_results(self, photo_id: str) -> set[str]:
        with self._db() as conn:
            return {r["stage"] for r in conn.execute("SELECT stage FROM stage_results WHERE photo_id = ?", (photo_id,))}

    def blobs(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return keys

    def wait_final(self, ids: list[str], timeout: float = 60.0, until_idle: bool = False) -> dict[str, str]:
        """Statuses once every photo is completed or failed, or (until_idle) once no job is left
        anywhere for a second, or when time is up."""
        deadline = time.monotonic() + timeout
        idle_since: float | None = None
        while True:
            status = {pid: row["status"] for pid, row in self.photos(ids).items()}
            if all(status.get(pid) in ("completed", "failed") for pid in ids) or time.monotonic() > deadline:
                return status
            if until_idle:
                idle_since = (idle_since or time.monotonic()) if not self.unsettled_jobs() else None
                if idle_since is not None and time.monotonic() - idle_since > 1.0:
                    return status
            time.sleep(0.1)

    def connection(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_server.url)

    def broker(self) -> Broker:
        overrides = dict(pair.split("=", 1) for pair in self.env["LIGHTBOX_PARAMETER_OVERRIDES"].split())
        return Broker(load_template(ROOT / "template.yaml", parameter_overrides=overrides), self.connection())

    def reconcile(self, timeout: float = 30.0) -> dict[str, int]:
        """One run of the scheduled reconcile, delivered as the scheduler does (async invoke, on a worker)."""
        job = self.broker().invoke_async("ReconcileFunction", schedule_event(), "schedule:reconcile")
        deadline = time.monotonic() + timeout
        while (status := job.get_status(refresh=True)) not in ("finished", "failed"):
            assert time.monotonic() < deadline, f"reconcile did not run within {timeout}s ({status})"
            time.sleep(0.05)
        assert status == "finished", job.latest_result()
        return dict(job.return_value() or {})

    def unsettled_jobs(self) -> dict[str, int]:
        """Jobs still waiting, taken, started or scheduled (to retry), by "queue state"."""
        conn = self.connection()
        out: dict[str, int] = {}
        for name in ("BucketEventsQueue", *STAGE_QUEUES, config.ASYNC_QUEUE):
            q = Queue(name, connection=conn, serializer=JSONSerializer)
            counts = {"waiting": q.count, "taken": len(q.intermediate_queue.get_job_ids()),
                      "started": StartedJobRegistry(queue=q).count, "scheduled": ScheduledJobRegistry(queue=q).count}
            out.update({f"{name} {state}": n for state, n in counts.items() if n})
        return out

    def wait_settled(self, timeout: float = 30.0) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        while (left := self.unsettled_jobs()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return left

    def dead_letter_photos(self) -> set[str]:
        broker = self.broker()
        ids: set[str] = set()
        for queue in STAGE_QUEUES:
            for dead in broker.dead_letters(queue):
                ids.update(json.loads(m["body"])["photo_id"] for m in dead.messages)
        return ids
