"""Issue 17's must-show: nothing leaves the machine. A user whose shell selects a profile holding
real-looking credentials (AWS_PROFILE -> a credentials file with a canary key) runs `lightbox up`:
every AWS call the function makes, to emulated services and to one with no local emulation, goes
to the local endpoint and is signed with the local key, never the canary; the un-emulated call
fails at once with a clear error (no DNS lookup of an AWS host, since nothing is sent there).

Nothing is monkeypatched: the calls are recorded on the wire by a TCP forwarder placed between
`lightbox up` and the moto server as the cloud endpoint (LIGHTBOX_CLOUD_ENDPOINT).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from lightbox.services.processes import ManagedProcess, free_port
from lightbox.testing.up import UpProcess, start_up

TEMPLATE = Path(__file__).resolve().parents[1] / "apps" / "cloud" / "template.yaml"
CANARY_KEY = "AKIACANARY0000000017"
CANARY_SECRET = "canary/secret/never-sent"


class RecordingForwarder:
    """127.0.0.1:port -> target port, keeping every byte the clients sent."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.sent = bytearray()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            ended: list[bool] = []  # one entry per direction that ended; the second closes both sockets
            for source, target, record in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pipe, args=(source, target, record, ended), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, record: bool, ended: list[bool]) -> None:
        try:
            while data := source.recv(65536):
                if record:
                    with self._lock:
                        self.sent += data
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with self._lock:
            ended.append(True)
            last = len(ended) == 2
        if last:
            source.close()
            target.close()

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def canary_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A shell with a profile selected whose credentials are a canary, and no keys in the environment
    (the test session's own keys, tests/conftest.py, are taken out of it)."""
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    aws = tmp_path / "aws"
    aws.mkdir()
    (aws / "credentials").write_text(f"[canary]\naws_access_key_id = {CANARY_KEY}\n"
                                     f"aws_secret_access_key = {CANARY_SECRET}\n")
    (aws / "config").write_text("[profile canary]\nregion = eu-west-3\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_PROFILE": "canary", "AWS_SHARED_CREDENTIALS_FILE": str(aws / "credentials"),
                "AWS_CONFIG_FILE": str(aws / "config")})
    return env


@pytest.fixture
def forwarder(s3_server: ManagedProcess) -> Iterator[RecordingForwarder]:
    proxy = RecordingForwarder(int(s3_server.url.rsplit(":", 1)[1]))
    yield proxy
    proxy.close()


def test_the_users_profile_never_reaches_any_endpoint(tmp_path: Path, canary_env: dict[str, str],
                                                       forwarder: RecordingForwarder) -> None:
    data = tmp_path / "data"
    data.mkdir()
    up: UpProcess = start_up(data, ["-t", str(TEMPLATE)], env={**canary_env, "LIGHTBOX_CLOUD_ENDPOINT": forwarder.url})
    try:
        imported = requests.get(f"{up.url}/import-time", timeout=30).json()  # Secrets Manager + SSM at import
        calls = requests.get(f"{up.url}/calls", timeout=30).json()  # DynamoDB, SNS, Secrets Manager
        unemulated = requests.get(f"{up.url}/unemulated", timeout=30).json()  # Amazon Translate
    finally:
        assert up.stop() == 0
    assert imported["greeting"] == "hello from ssm"
    assert calls["published"] is True
    # The un-emulated service: answered locally, with what to do, signed with the local key.
    assert unemulated["key"] == "lightbox"
    assert unemulated["code"] == "NotImplemented"
    assert "translate is not emulated locally" in unemulated["error"]
    assert "--aws-passthrough translate" in unemulated["error"]
    wire = bytes(forwarder.sent)
    for service in ("secretsmanager", "ssm", "dynamodb", "sns", "translate"):
        assert f"/us-east-1/{service}/aws4_request".encode() in wire  # each call went to the local endpoint
    assert b"Credential=lightbox/" in wire
    assert CANARY_KEY.encode() not in wire
    assert CANARY_SECRET.encode() not in wire
    hosts = set(re.findall(rb"\r\nHost: ([^\r]+)", wire, re.I))
    assert hosts == {f"127.0.0.1:{forwarder.port}".encode()}  # no request addressed to an AWS host
    assert CANARY_KEY not in up.log_path.read_text()
