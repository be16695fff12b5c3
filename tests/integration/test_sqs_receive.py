"""Lambda's SQS poller on a real Redis with a burst worker: a FIFO queue's batches one at a time in
order, a receive that died gathering gives back what it took, MaximumConcurrency holds receives back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from rq.serializers import JSONSerializer

from lightbox.queueing.queue import LightboxQueue
from lightbox.queueing.worker import run_worker
from lightbox.runtime.invoke import Runtime
from lightbox.services.processes import ManagedProcess
from lightbox.sqs import gather
from lightbox.sqs.messages import new_message
from lightbox.sqs.queues import Broker
from lightbox.template.loader import load_template
from lightbox.template.model import Template

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: jobs.fifo
      FifoQueue: true
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dead.Arn, maxReceiveCount: 3}
  Dead:
    Type: AWS::SQS::Queue
    Properties: {QueueName: dead.fifo, FifoQueue: true}
  Work:
    Type: AWS::SQS::Queue
    Properties: {QueueName: work}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Jobs:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 2}
        Work:
          Type: SQS
          Properties: {Queue: !GetAtt Work.Arn, BatchSize: 5, ScalingConfig: {MaximumConcurrency: 2}}
"""
HANDLER = """\
import json, os
import redis
r = redis.Redis.from_url(os.environ["REDIS_URL"])

def handler(event, context):
    bodies = [m["body"] for m in event["Records"]]
    r.rpush("got", json.dumps(bodies))
    if "fail-once" in bodies and r.incr("failed") == 1:
        raise RuntimeError("fails the first time")
"""


@dataclass
class Poller:
    conn: redis.Redis
    template: Template
    broker: Broker
    url: str

    def send(self, queue: str, *bodies: str) -> None:
        for body in bodies:  # one by one, as a function sends them
            self.broker.send(queue, [new_message(body, group_id="g" if queue.endswith(".fifo") else None)])

    def run(self) -> list[list[str]]:
        run_worker(Runtime(self.template, env={"REDIS_URL": self.url}), self.conn, burst=True)
        return [json.loads(x) for x in self.conn.lrange("got", 0, -1)]


@pytest.fixture
def poller(redis_server: ManagedProcess, tmp_path: Path) -> Iterator[Poller]:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    url = redis_server.url.rsplit("/", 1)[0] + "/8"
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    template = load_template(tmp_path / "template.yaml")
    yield Poller(conn, template, Broker(template, conn, retry_base=0), url)
    conn.flushdb()


def test_a_fifo_queue_takes_its_next_batch_only_when_the_last_is_done(poller: Poller) -> None:
    poller.send("jobs.fifo", "a", "fail-once", "b", "c", "d")
    # The failed batch comes again before anything sent after it; a standard queue would go on.
    assert poller.run() == [["a", "fail-once"], ["a", "fail-once"], ["b", "c"], ["d"]]


def test_a_fifo_batch_waiting_for_its_retry_holds_back_what_is_sent_meanwhile(poller: Poller) -> None:
    poller.broker = Broker(poller.template, poller.conn, retry_base=0.5)  # its retry is not due at once
    poller.send("jobs.fifo", "a", "fail-once")
    assert poller.run() == [["a", "fail-once"]]  # failed; the retry waits
    poller.send("jobs.fifo", "b")
    assert poller.broker.receive("jobs.fifo") is False  # as the queue's maintenance would try
    q = LightboxQueue("jobs.fifo", connection=poller.conn, serializer=JSONSerializer)
    assert q.count == 0 and gather.waiting(poller.conn, "jobs.fifo") == 1
    deadline = time.monotonic() + 10
    while len(got := poller.run()) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert got == [["a", "fail-once"], ["a", "fail-once"], ["b"]]


def test_what_a_receive_took_before_it_died_goes_back_to_the_queue_in_order(poller: Poller) -> None:
    poller.send("work", "m1", "m2", "m3")
    q = LightboxQueue("work", connection=poller.conn, serializer=JSONSerializer)
    [receive] = q.get_job_ids()
    # Its worker moved the messages out and was killed; the job is gone (out of receives, or deleted).
    taken = gather.gather(poller.conn, "work", receive, 5, 0, lambda m: True)
    assert [m["body"] for m in taken] == ["m1", "m2", "m3"] and gather.waiting(poller.conn, "work") == 0
    q.remove(receive)
    poller.conn.delete(f"rq:job:{receive}")
    poller.send("work", "m4")  # the next send sees the dead receive and takes over
    assert poller.run() == [["m1", "m2", "m3", "m4"]]


def test_a_batch_its_receive_saved_is_not_given_back_before_it_forgets_what_it_took(poller: Poller) -> None:
    poller.send("work", "m1", "m2", "m3")
    q = LightboxQueue("work", connection=poller.conn, serializer=JSONSerializer)
    [receive] = q.get_job_ids()
    taken = gather.gather(poller.conn, "work", receive, 5, 0, lambda m: True)
    job = q.fetch_job(receive)
    assert job is not None and list(job.args) == ["work", "Fn", []]  # read: RQ rebuilds its data on save
    job.args, job.meta["gathered"] = ("work", "Fn", taken), True
    job.save()  # its batch is saved; its own list is not deleted yet when the next send comes
    poller.send("work", "m4")
    assert gather.waiting(poller.conn, "work") == 1  # m4 alone: the saved batch did not go back
    assert sorted(poller.run()) == [["m1", "m2", "m3"], ["m4"]]  # each message once


def test_maximum_concurrency_starts_no_receive_while_that_many_hold_batches(poller: Poller) -> None:
    gather.hold(poller.conn, "work", "first", 30)
    gather.hold(poller.conn, "work", "second", 30)
    poller.send("work", "m1")
    q = LightboxQueue("work", connection=poller.conn, serializer=JSONSerializer)
    assert q.count == 0 and gather.waiting(poller.conn, "work") == 1  # waits in the queue
    gather.release(poller.conn, "work", "first")
    assert poller.broker.receive("work")  # what a receive does when it ends
    assert poller.run() == [["m1"]]
