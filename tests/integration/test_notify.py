"""notify on the emulator's gateway: SSE resumes with Last-Event-ID losing nothing, heartbeats,
reset after trimmed history, the long-poll twin, and every endpoint scoped to the token's client."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import redis
import requests
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from photo_client import ROOT, _secret, auth
from sse_client import Message, messages

from lightbox.config import Settings as StackSettings
from lightbox.services.processes import ManagedProcess
from lightbox.stack.up import Stack
from photolib import auth as photo_auth
from photolib.config import Settings
from photolib.events import publish
from photolib.models import EventMetadata, EventType, PhotoEvent

STREAM = "lightbox:events"


@pytest.fixture(scope="module")
def stack(redis_server: ManagedProcess, s3_server: ManagedProcess,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    redis_url = redis_server.url.rsplit("/", 1)[0] + "/5"  # the stack's own database
    bucket = f"photos-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    data = tmp_path_factory.mktemp("notify")
    overrides = {"PhotosBucketName": bucket, "PhotosDbPath": str(data / "photos.db"), "SseHeartbeatSeconds": "0.3"}
    stack = Stack(StackSettings.load(template=ROOT / "template.yaml", port=0, workers=0, redis_url=redis_url,
                                     s3_endpoint=s3_server.url,
                                     cloud_endpoint=s3_server.url, bucket_events="off", data_dir=data,
                                     parameter_overrides=overrides)).start()
    yield stack
    stack.stop()
    for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket)
    redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def events(stack: Stack) -> Iterator[Settings]:
    """Settings to publish to the stack's stream with; the stream starts and ends empty."""
    settings = Settings(redis_url=str(stack.settings.redis_url), events_stream=STREAM)
    conn = redis.Redis.from_url(settings.redis_url)
    conn.delete(STREAM)
    yield settings
    conn.delete(STREAM)
    conn.close()


def emit(settings: Settings, seq: int, client: str = "alice", photo: str = "p1", session: str | None = None) -> str:
    event = PhotoEvent(type=EventType.STAGE_COMPLETED, data={"photo_id": photo, "seq": seq},
                       metadata=EventMetadata(client_id=client, trace_id="t", session_id=session))
    return publish(event, settings=settings)


def open_stream(url: str, client: str = "alice", last_id: str | None = None, via_query: bool = False,
                **params: str) -> requests.Response:
    headers = auth(client)
    if last_id is not None and not via_query:
        headers["Last-Event-ID"] = last_id
    elif last_id is not None:
        params["last_event_id"] = last_id
    resp = requests.get(f"{url}/events/stream", headers=headers, params=params, stream=True, timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/event-stream"), resp.text
    return resp


def data_of(messages_: list[Message]) -> list[int]:
    return [json.loads(m.data)["data"]["seq"] for m in messages_]


def test_200_events_arrive_in_order_once_each_across_three_reconnects(stack: Stack, events: Settings) -> None:
    got: list[Message] = []
    resp = open_stream(stack.url)  # the stream's position is fixed once the response has started

    def publisher() -> None:
        for i in range(200):
            emit(events, i)
            if i % 3 == 0:
                emit(events, -1, client="bob")  # someone else's events, interleaved
            time.sleep(0.002)

    thread = threading.Thread(target=publisher)
    thread.start()
    for reconnect, stop_after in enumerate((37, 90, 150, 200)):
        for m in messages(resp):
            if m.comment is None and m.event == "message":
                got.append(m)
                if len(got) == stop_after:
                    break
        resp.close()  # the client goes away mid-stream ...
        if reconnect < 3:  # ... and comes back with the id of the last event it saw
            resp = open_stream(stack.url, last_id=got[-1].id, via_query=reconnect == 1)
    thread.join()
    assert data_of(got) == list(range(200))
    ids = [m.id for m in got]
    assert len(set(ids)) == 200 and ids == sorted(ids, key=lambda i: tuple(map(int, str(i).split("-"))))


def test_idle_stream_gets_heartbeats_and_filters_hold(stack: Stack, events: Settings) -> None:
    emit(events, 0, photo="p1", session="s1")
    emit(events, 1, photo="p2", session="s1")
    emit(events, 2, photo="p1", session="s2")
    resp = open_stream(stack.url, last_id="0", session_id="s1")
    seen: list[Message] = []
    for m in messages(resp):
        seen.append(m)
        if m.comment == "heartbeat":
            break
    resp.close()
    assert data_of([m for m in seen if m.comment is None]) == [0, 1]


class _Xreads(threading.Thread):
    """Counts XREADs of the stream as Redis' MONITOR sees them (INFO's counts are the whole
    server's: other tests' readers too), until `done()`."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.count, self.ready = url, 0, threading.Event()

    def run(self) -> None:
        with redis.Redis.from_url(self.url).monitor() as monitor:
            self.ready.set()
            while "lightbox-test-done" not in (command := monitor.next_command()["command"]):
                self.count += command.upper().startswith("XREAD") and STREAM in command

    def done(self) -> int:
        redis.Redis.from_url(self.url).echo("lightbox-test-done")
        self.join(timeout=10)
        return self.count


def test_a_page_on_an_empty_stream_waits_on_redis_instead_of_polling_it(stack: Stack, events: Settings) -> None:
    """A fresh stack's page (nothing published yet: cursor 0) used to read Redis every 100 ms."""
    resp = open_stream(stack.url)
    stream = messages(resp)
    next(m for m in stream if m.comment == "heartbeat")  # settled into waiting
    xreads = _Xreads(events.redis_url)
    xreads.start()
    assert xreads.ready.wait(10)
    beats = 0
    for m in stream:
        beats += m.comment == "heartbeat"
        if beats == 4:  # 4 x SseHeartbeatSeconds (0.3 s): 12 reads at one per 100 ms
            break
    # One read per heartbeat period, and the fan-out reader's own (one a second: two at most).
    assert xreads.done() <= 4 + 2, xreads.count
    emit(events, 0)
    assert data_of([next(m for m in stream if m.comment is None)]) == [0]  # and it still wakes at once
    resp.close()


def test_an_id_older_than_retention_gets_a_reset_then_what_is_retained(stack: Stack, events: Settings) -> None:
    first = emit(events, 0)
    for i in range(1, 10):
        emit(events, i)
    redis.Redis.from_url(events.redis_url).xtrim(STREAM, maxlen=3, approximate=False)
    resp = open_stream(stack.url, last_id=first)
    seen = []
    for m in messages(resp):
        if m.comment is None:
            seen.append(m)
        if len(seen) == 4:
            break
    resp.close()
    assert seen[0].event == "reset" and json.loads(seen[0].data)["oldest_id"] and seen[0].id == "0-0"
    assert data_of(seen[1:]) == [7, 8, 9]

    poll = requests.get(f"{stack.url}/events", params={"after": first, "timeout": "1"}, headers=auth(), timeout=10)
    assert poll.status_code == 200 and "oldest_id" in poll.json()["reset"]
    assert [e["data"]["seq"] for e in poll.json()["events"]] == [7, 8, 9]


def test_long_poll_returns_soon_after_publish_and_empty_at_timeout(stack: Stack, events: Settings) -> None:
    last = emit(events, 0)
    out: dict[str, Any] = {}

    def wait() -> None:
        r = requests.get(f"{stack.url}/events", params={"after": last, "timeout": "20"}, headers=auth(), timeout=30)
        out["returned"], out["response"] = time.monotonic(), r

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.5)  # the request is waiting in XREAD BLOCK by now
    published = time.monotonic()
    emit(events, 1, client="bob")  # not alice's: she keeps waiting
    emit(events, 2)
    thread.join(timeout=25)
    body = out["response"].json()
    assert [e["data"]["seq"] for e in body["events"]] == [2] and body["events"][0]["stream_id"] == body["next"]
    assert out["returned"] - published < 10  # well under the 20 s timeout (bench/ measures it precisely)

    r = requests.get(f"{stack.url}/events", params={"after": body["next"], "timeout": "0.3"}, headers=auth(),
                     timeout=10)
    assert r.status_code == 200 and r.json() == {"events": [], "next": body["next"]}


@pytest.mark.parametrize("timeout", ["soon", "nan", "inf", "-inf"])
def test_long_poll_refuses_a_timeout_that_is_not_a_number_of_seconds(stack: Stack, timeout: str) -> None:
    r = requests.get(f"{stack.url}/events", params={"timeout": timeout}, headers=auth(), timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_timeout"


def expired_token(client: str) -> str:
    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 2 * 86_400  # older than the template's TokenMaxAge

    return URLSafeTimedSerializer(_secret(), salt=photo_auth.SALT, signer=Past).dumps({"client_id": client})


ENDPOINTS = [("GET", "/events", {"timeout": "0"}), ("GET", "/events/stream", {}),
             ("POST", "/uploads", {}), ("POST", "/photos", {}), ("GET", "/photos", {}),
             ("GET", "/photos/abc", {}), ("DELETE", "/photos/abc", {})]


@pytest.mark.parametrize(("method", "path", "params"), ENDPOINTS)
@pytest.mark.parametrize("credential", ["none", "bad_signature", "expired", "query_bad_signature"])
def test_every_endpoint_refuses_requests_without_a_valid_token(stack: Stack, method: str, path: str,
                                                               params: dict[str, str], credential: str) -> None:
    good = auth("alice")["Authorization"].removeprefix("Bearer ")
    headers, params = {}, dict(params)
    if credential == "bad_signature":
        headers["Authorization"] = f"Bearer {good[:-2]}xx"
    elif credential == "expired":
        headers["Authorization"] = f"Bearer {expired_token('alice')}"
    elif credential == "query_bad_signature":
        params["access_token"] = photo_auth.issue("alice", "not-the-servers-secret")
    r = requests.request(method, f"{stack.url}{path}", headers=headers, params=params,
                         json={"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}, timeout=10)
    assert r.status_code == 401 and r.headers["Content-Type"] == "application/json", r.text
    code = {"none": "missing_token", "expired": "expired_token"}.get(credential, "invalid_token")
    if credential == "query_bad_signature" and path != "/events/stream":
        code = "missing_token"  # only the stream reads a token from the URL
    assert r.json()["error"]["code"] == code


def test_a_valid_token_in_the_url_opens_only_the_event_stream(stack: Stack) -> None:
    good = auth("alice")["Authorization"].removeprefix("Bearer ")
    for method, path, params in ENDPOINTS:
        if path == "/events/stream":
            continue
        r = requests.request(method, f"{stack.url}{path}", params={**params, "access_token": good},
                             json={"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}, timeout=10)
        assert r.status_code == 401 and r.json()["error"]["code"] == "missing_token", (method, path)
    with requests.get(f"{stack.url}/events/stream", params={"access_token": good}, stream=True, timeout=10) as r:
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream")
    page = requests.get(f"{stack.url}/", timeout=10)
    assert page.headers["Referrer-Policy"] == "no-referrer"  # the page's ?token= stays out of Referer


def test_another_clients_photo_is_not_found_on_every_endpoint(stack: Stack, events: Settings) -> None:
    created = requests.post(f"{stack.url}/uploads", json={"filename": "a.jpg", "content_type": "image/jpeg",
                                                          "size": 10}, headers=auth("alice"), timeout=10)
    assert created.status_code == 201, created.text
    pid = created.json()["photo"]["id"]
    for method, path, params in [("GET", f"/photos/{pid}", {}), ("DELETE", f"/photos/{pid}", {}),
                                 ("GET", "/events", {"photo_id": pid, "timeout": "0"}),
                                 ("GET", "/events/stream", {"photo_id": pid})]:
        r = requests.request(method, f"{stack.url}{path}", params=params, headers=auth("bob"), timeout=10)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (method, path, r.text)
    assert requests.get(f"{stack.url}/photos", headers=auth("bob"), timeout=10).json()["items"] == []
    # ... and alice's events about it never reach bob, by long-poll or by stream.
    emit(events, 0, photo=pid)
    r = requests.get(f"{stack.url}/events", params={"after": "0", "timeout": "0.3"}, headers=auth("bob"), timeout=10)
    assert r.json()["events"] == []
    resp = open_stream(stack.url, client="bob", last_id="0")
    first = next(m for m in messages(resp) if m.comment == "heartbeat" or m.event == "message")
    resp.close()
    assert first.comment == "heartbeat"
    mine = requests.get(f"{stack.url}/events", params={"after": "0", "photo_id": pid}, headers=auth("alice"),
                        timeout=10)
    assert [e["data"]["photo_id"] for e in mine.json()["events"]] == [pid]
