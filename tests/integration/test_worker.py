"""A worker process's share of the queues, on a real Redis: no queue waits behind another's backlog."""

from __future__ import annotations

import json
from pathlib import Path

import redis
from rq import Queue
from rq.registry import FinishedJobRegistry
from rq.serializers import JSONSerializer

from local.broker import Broker, new_message
from local.events import s3_put_event
from local.runtime import Runtime
from local.services import ManagedProcess
from local.template import load_template
from local.worker import run_worker

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
