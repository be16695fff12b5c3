"""`lightbox up` as a user runs it, once for the e2e tests: embedded services, the photo app;
at the end Ctrl-C must stop every process it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from local.services import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("lightbox-up")
    env = {**os.environ, "LIGHTBOX_DATA_DIR": str(data), "LIGHTBOX_PARAMETER_OVERRIDES": f"PhotosDbPath={data}/p.db"}
    env.pop("REDIS_URL", None)
    env.pop("S3_ENDPOINT_URL", None)
    # A file, not a pipe: nobody reads a pipe while tests run, and a full one blocks every log write.
    log = (data / "up.log").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "local.cli", "up", "-p", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{url}/_lightbox/health", timeout=1)
            break
        except requests.ConnectionError:
            assert proc.poll() is None and time.monotonic() < deadline, (data / "up.log").read_text()
            time.sleep(0.2)
    yield url
    # Ctrl-C, as a user stops it: every process it started must be gone, and quickly.
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    log.close()
    out = (data / "up.log").read_text()
    assert proc.returncode == 0, out
    assert "lightbox: stopping" in out
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


