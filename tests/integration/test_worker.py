"""A worker process's share of the queues, on a real Redis: no queue waits behind another's backlog."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from rq import Queue, Worker
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from lightbox.queueing import jobs
from lightbox.queueing.queue import LightboxQueue, claim
from lightbox.queueing.worker import LightboxWorker, run_worker
from lightbox.runtime.invoke import Runtime
from lightbox.services.processes import ManagedProcess
from lightbox.sqs.gather import MESSAGES_KEY
from lightbox.sqs.messages import new_message
from lightbox.sqs.queues import RECEIVE_JOB, Broker
from lightbox.template.loader import load_template
from lightbox.template.model import Template
from lightbox.testing.events import s3_put_event

SAMPLE = Path(__file__).resolve().parents[1] / "apps" / "sample" / "template.yaml"


def test_a_backlog_on_one_queue_does_not_hold_back_another(redis_server: ManagedProcess) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/5"
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    template = load_template(SAMPLE)
    broker = Broker(template, conn)
    # sample-inbox-events sorts before sample-work: a worker taking queues in order would drain
    # all three batches before the work message, as if the work queue's poller had stopped.
    for i in range(30):  # one send each: three receives of BatchSize 10
        record = s3_put_event("sample-inbox", f"in/{i}.json", size=1)
        broker.send("sample-inbox-events", [new_message(json.dumps(record))])
    broker.send("sample-work", [new_message("hello")])
    run_worker(Runtime(template, env={"REDIS_URL": url}), conn, burst=True)

    def finished(queue: str) -> list[float]:
        q = Queue(queue, connection=conn, serializer=JSONSerializer)
        jobs = [q.fetch_job(i) for i in FinishedJobRegistry(queue=q).get_job_ids()]
        return sorted(j.ended_at.timestamp() for j in jobs if j and j.ended_at)

    inbox, work = finished("sample-inbox-events"), finished("sample-work")
    assert len(inbox) == 3 and len(work) == 1
    assert work[0] < inbox[1]  # served in the first round, not after the backlog
    conn.flushdb()


def _idle_worker_process(url: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "lightbox", "worker", "--template", str(SAMPLE), "--redis-url", url],
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


@dataclass
class WorkQueue:
    """The sample app's work queue on its own Redis database, one message sent (retries at once)."""

    url: str
    conn: redis.Redis
    template: Template
    q: LightboxQueue

    def take(self) -> Job:
        taken = LightboxQueue.dequeue_any([self.q], None, connection=self.conn, serializer=JSONSerializer)
        assert taken is not None
        return taken[0]

    def start_and_die(self, name: str) -> Job:
        """A worker takes the job, starts it and is killed (its registration ends with it)."""
        worker = LightboxWorker([self.q], connection=self.conn, serializer=JSONSerializer, name=name)
        worker.register_birth()
        job = self.take()
        worker.prepare_execution(job)
        assert claim(self.conn, self.q, job)
        worker.prepare_job_execution(job)
        self.conn.delete(worker.key)
        return job

    def maintain(self) -> None:
        """One maintenance pass, as any live worker runs it."""
        LightboxWorker([self.q], connection=self.conn, serializer=JSONSerializer).clean_registries()

    def run(self) -> list[str]:
        run_worker(Runtime(self.template, env={"REDIS_URL": self.url}), self.conn, burst=True)
        return FinishedJobRegistry(queue=self.q).get_job_ids()


@pytest.fixture
def work(redis_server: ManagedProcess) -> Iterator[WorkQueue]:
    url = redis_server.url.rsplit("/", 1)[0] + "/7"
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    template = load_template(SAMPLE)
    Broker(template, conn, retry_base=0).send("sample-work", [new_message("hello")])
    yield WorkQueue(url, conn, template, LightboxQueue("sample-work", connection=conn, serializer=JSONSerializer))
    conn.flushdb()


def test_a_job_taken_by_a_worker_that_died_before_starting_it_runs_again(work: WorkQueue) -> None:
    job = work.take()  # the taker then dies
    assert work.q.count == 0 and work.q.intermediate_queue.get_job_ids() == [job.id]  # recoverable, not gone
    # Maintenance first notes a taken job, then retries it once a pass has gone by (RQ's own
    # cleanup waits a minute: 6 s is ours alone).
    work.conn.set(work.q.intermediate_queue.get_first_seen_key(job.id), time.time() - 6)
    work.maintain()
    assert work.q.intermediate_queue.get_job_ids() == [] and work.q.count == 1
    assert work.run() == [job.id]


def test_a_worker_stopped_between_taking_and_starting_a_job_does_not_run_it_once_taken_back(work: WorkQueue) -> None:
    stopped = LightboxWorker([work.q], connection=work.conn, serializer=JSONSerializer, name="stopped")
    stopped.register_birth()
    try:
        job = work.take()  # then the worker is stopped for longer than a maintenance pass
        work.conn.set(work.q.intermediate_queue.get_first_seen_key(job.id), time.time() - 6)
        work.maintain()
        assert work.q.get_job_ids() == [job.id]  # taken back: on its queue again
        jobs.install(Runtime(work.template, env={"REDIS_URL": work.url}))  # so that it could run the job
        stopped.execute_job(job, work.q)  # resumes where it was
        assert FinishedJobRegistry(queue=work.q).count == 0 and StartedJobRegistry(queue=work.q).count == 0
        assert work.q.get_job_ids() == [job.id]
        assert work.run() == [job.id]  # run once, from the queue
    finally:
        stopped.register_death()


def test_a_job_claimed_by_a_worker_that_died_before_running_it_runs_again(work: WorkQueue) -> None:
    worker = LightboxWorker([work.q], connection=work.conn, serializer=JSONSerializer, name="gone")
    worker.register_birth()
    job = work.take()
    worker.prepare_execution(job)
    assert claim(work.conn, work.q, job)
    work.conn.delete(worker.key)  # killed before it ran the job
    work.maintain()
    assert work.run() == [job.id]


def test_a_job_deleted_between_take_and_claim_is_not_run_nor_brought_back(work: WorkQueue) -> None:
    job = work.take()
    job.delete()
    assert not claim(work.conn, work.q, job)
    assert not work.conn.exists(job.key) and work.q.intermediate_queue.get_job_ids() == []


def test_a_dead_workers_job_runs_again_even_if_a_worker_died_holding_rqs_maintenance_lock(work: WorkQueue) -> None:
    job = work.start_and_die("gone")
    assert StartedJobRegistry(queue=work.q).get_job_ids() == [job.id]
    # RQ's lock lasts 15 minutes; a worker killed in its maintenance pass leaves it behind.
    work.conn.set(work.q.registry_cleaning_key, 1, ex=899)
    work.maintain()
    assert work.run() == [job.id]


def test_a_job_rerun_by_a_live_worker_is_not_expired_for_the_dead_worker_that_ran_it_before(work: WorkQueue) -> None:
    started = StartedJobRegistry(queue=work.q)
    job = work.start_and_die("gone")
    work.maintain()
    assert work.q.count == 1 and started.count == 0  # back on the queue
    live = LightboxWorker([work.q], connection=work.conn, serializer=JSONSerializer, name="live")
    live.register_birth()
    live.prepare_execution(work.take())  # its entry is in; the job names "gone" until its next step
    work.maintain()
    assert started.get_job_ids() == [job.id] and FailedJobRegistry(queue=work.q).count == 0
    live.register_death()


def test_a_taken_job_carries_its_fields_and_its_claim_brings_them_up_to_date(work: WorkQueue) -> None:
    job = work.take()
    stored = Job.fetch(job.id, connection=work.conn, serializer=JSONSerializer)
    assert (job.func_name, job.args, job.retries_left, job.origin) == (
        stored.func_name, stored.args, stored.retries_left, stored.origin)
    # Taken back and taken again by another since: the claim's read carries what changed.
    work.conn.hset(job.key, "retries_left", 0)
    assert claim(work.conn, work.q, job)
    assert job.retries_left == 0 and job.get_status(refresh=False) == "started"


def test_a_worker_repeats_no_heartbeat_within_a_second_but_a_jobs_ttl_is_always_set_and_then_renewed(
        work: WorkQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    # "a moment later", however slow the machine
    monkeypatch.setattr("lightbox.queueing.worker.HEARTBEAT_REUSE_SECONDS", 60)
    worker = LightboxWorker([work.q], connection=work.conn, serializer=JSONSerializer, name="beating")
    worker.register_birth()
    try:
        full = worker.worker_ttl + 60
        worker.heartbeat()
        assert full - 2 <= work.conn.ttl(worker.key) <= full
        work.conn.expire(worker.key, 500)
        worker.heartbeat()  # RQ's next plain one, a moment later: nothing sent
        assert work.conn.ttl(worker.key) > full
        worker.heartbeat(8)  # a job's TTL, as prepare_job_execution sets it
        assert work.conn.ttl(worker.key) <= 8
        worker.heartbeat()  # the job ended: the full TTL again at once
        assert full - 2 <= work.conn.ttl(worker.key) <= full
    finally:
        worker.register_death()


def test_a_worker_writes_its_state_only_when_it_changes(work: WorkQueue) -> None:
    worker = LightboxWorker([work.q], connection=work.conn, serializer=JSONSerializer, name="stateful")
    worker.register_birth()
    try:
        worker.set_state("idle")
        work.conn.hset(worker.key, "state", "marker")
        worker.set_state("idle")  # unchanged: not written again
        assert work.conn.hget(worker.key, "state") == b"marker"
        worker.set_state("busy")
        assert work.conn.hget(worker.key, "state") == b"busy"
    finally:
        worker.register_death()


def test_a_job_deleted_while_queued_or_left_as_a_stub_is_skipped_and_the_next_one_taken(work: WorkQueue) -> None:
    # Sends to a queue with a receive on its way add no job: these are batches with their messages
    # in them, as a delayed send or a replay enqueues them.
    consumer = Broker(work.template, work.conn).consumer("sample-work")
    assert consumer is not None
    for body in ("second", "third"):
        work.q.enqueue(RECEIVE_JOB, args=("sample-work", consumer[0].name, [new_message(body)]))
    deleted, stub, kept = work.q.get_job_ids()
    work.conn.delete(Job.key_for(deleted))
    work.conn.delete(Job.key_for(stub))
    work.conn.hset(Job.key_for(stub), "last_heartbeat", "x")  # a late write after the delete
    finished = work.run()  # the worker went on past both
    assert kept in finished and deleted not in finished and stub not in finished
    # The deleted job was the receive the first send started: its message is received by another.
    assert len(finished) == 2 and work.conn.llen(MESSAGES_KEY.format("sample-work")) == 0
