"""A worker process's share of the queues, on a real Redis: no queue waits behind another's backlog."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from rq import Queue, Worker
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from local.broker import Broker, new_message
from local.events import s3_put_event
from local.queues import LightboxQueue
from local.runtime import Runtime
from local.services import ManagedProcess
from local.template import load_template
from local.worker import LightboxWorker, run_worker

SAMPLE = Path(__file__).resolve().parents[1] / "apps" / "sample" / "template.yaml"


def test_a_backlog_on_one_queue_does_not_hold_back_another(redis_server: ManagedProcess) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/5"
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    template = load_template(SAMPLE)
    broker = Broker(template, conn)
    # sample-inbox-events sorts before sample-work: a worker taking queues in order would drain
    # all ten before the work message, as if the work queue's poller had stopped.
    for i in range(10):  # one send each: ten jobs
        broker.send("sample-inbox-events", [new_message(json.dumps(s3_put_event("sample-inbox", f"in/{i}.json", size=1)))])
    broker.send("sample-work", [new_message("hello")])
    run_worker(Runtime(template, env={"REDIS_URL": url}), conn, burst=True)

    def finished(queue: str) -> list[float]:
        q = Queue(queue, connection=conn, serializer=JSONSerializer)
        jobs = [q.fetch_job(i) for i in FinishedJobRegistry(queue=q).get_job_ids()]
        return sorted(j.ended_at.timestamp() for j in jobs if j and j.ended_at)

    inbox, work = finished("sample-inbox-events"), finished("sample-work")
    assert len(inbox) == 10 and len(work) == 1
    assert work[0] < inbox[2]  # served in the first round, not after the backlog
    conn.flushdb()


def _idle_worker_process(url: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "local.cli", "worker", "--template", str(SAMPLE), "--redis-url", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    conn = redis.Redis.from_url(url)
    deadline = time.monotonic() + 30
    while not any(w.get_state() == "idle" for w in Worker.all(connection=conn)):
        assert proc.poll() is None and time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.05)
    time.sleep(0.2)  # idle: waiting for work
    return proc


def test_a_paused_idle_worker_takes_nothing_and_the_message_goes_to_a_live_one(redis_server: ManagedProcess) -> None:
    """With RQ's BLPOP a job pushed while a worker waits is handed to it at once, and lost if that
    worker never reads it (paused, killed, cut off by a Redis restart)."""
    url = redis_server.url.rsplit("/", 1)[0] + "/6"
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    template = load_template(SAMPLE)
    paused = _idle_worker_process(url)
    try:
        os.killpg(paused.pid, signal.SIGSTOP)
        Broker(template, conn).send("sample-work", [new_message("hello")])
        q = LightboxQueue("sample-work", connection=conn, serializer=JSONSerializer)
        assert q.count == 1 and q.intermediate_queue.get_job_ids() == []  # still waiting, nobody holds it
    finally:
        os.killpg(paused.pid, signal.SIGKILL)
        paused.wait()
    run_worker(Runtime(template, env={"REDIS_URL": url}), conn, burst=True)
    assert FinishedJobRegistry(queue=q).count == 1
    conn.flushdb()


def test_a_job_taken_by_a_worker_that_died_before_starting_it_runs_again(redis_server: ManagedProcess) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/7"
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    template = load_template(SAMPLE)
    Broker(template, conn, retry_base=0).send("sample-work", [new_message("hello")])
    q = LightboxQueue("sample-work", connection=conn, serializer=JSONSerializer)
    taken = LightboxQueue.dequeue_any([q], None, connection=conn, serializer=JSONSerializer)  # the taker then dies
    assert taken is not None and q.count == 0
    job = taken[0]
    assert q.intermediate_queue.get_job_ids() == [job.id]  # recoverable, not gone
    # Maintenance first notes a taken job, then retries it once a pass has gone by (RQ's own
    # cleanup waits a minute: 6 s is ours alone).
    conn.set(q.intermediate_queue.get_first_seen_key(job.id), time.time() - 6)
    LightboxWorker([q], connection=conn, serializer=JSONSerializer).clean_registries()
    assert q.intermediate_queue.get_job_ids() == [] and q.count == 1
    run_worker(Runtime(template, env={"REDIS_URL": url}), conn, burst=True)
    assert FinishedJobRegistry(queue=q).get_job_ids() == [job.id]
    conn.flushdb()


def test_a_dead_workers_job_runs_again_even_if_a_worker_died_holding_rqs_maintenance_lock(
        redis_server: ManagedProcess) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/8"
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    template = load_template(SAMPLE)
    Broker(template, conn, retry_base=0).send("sample-work", [new_message("hello")])
    q = LightboxQueue("sample-work", connection=conn, serializer=JSONSerializer)
    gone = LightboxWorker([q], connection=conn, serializer=JSONSerializer, name="gone")
    gone.register_birth()
    taken = LightboxQueue.dequeue_any([q], None, connection=conn, serializer=JSONSerializer)
    assert taken is not None
    gone.prepare_execution(taken[0])
    gone.prepare_job_execution(taken[0])  # started, then the worker is killed (its registration ends):
    conn.delete(gone.key)
    assert StartedJobRegistry(queue=q).get_job_ids() == [taken[0].id]
    # RQ's lock lasts 15 minutes; a worker killed in its maintenance pass leaves it behind.
    conn.set(q.registry_cleaning_key, 1, ex=899)
    LightboxWorker([q], connection=conn, serializer=JSONSerializer).clean_registries()
    run_worker(Runtime(template, env={"REDIS_URL": url}), conn, burst=True)
    assert FinishedJobRegistry(queue=q).get_job_ids() == [taken[0].id]
    conn.flushdb()


def test_a_job_rerun_by_a_live_worker_is_not_expired_for_the_dead_worker_that_ran_it_before(
        redis_server: ManagedProcess) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/9"
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    Broker(load_template(SAMPLE), conn, retry_base=0).send("sample-work", [new_message("hello")])
    q = LightboxQueue("sample-work", connection=conn, serializer=JSONSerializer)
    started = StartedJobRegistry(queue=q)

    def take() -> Job:
        taken = LightboxQueue.dequeue_any([q], None, connection=conn, serializer=JSONSerializer)
        assert taken is not None
        return taken[0]

    gone = LightboxWorker([q], connection=conn, serializer=JSONSerializer, name="gone")
    gone.register_birth()
    job = take()
    gone.prepare_execution(job)
    gone.prepare_job_execution(job)
    conn.delete(gone.key)  # killed
    LightboxWorker([q], connection=conn, serializer=JSONSerializer).clean_registries()
    assert q.count == 1 and started.count == 0  # back on the queue
    live = LightboxWorker([q], connection=conn, serializer=JSONSerializer, name="live")
    live.register_birth()
    live.prepare_execution(take())  # its entry is in; the job names "gone" until its next step
    LightboxWorker([q], connection=conn, serializer=JSONSerializer).clean_registries()
    assert started.get_job_ids() == [job.id] and FailedJobRegistry(queue=q).count == 0
    live.register_death()
    conn.flushdb()
