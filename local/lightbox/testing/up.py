"""`lightbox up` started as a user starts it (a child process on embedded Redis and S3), for
end-to-end tests and benchmarks that need the whole stack with its real Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from lightbox.services.processes import free_port


@dataclass
class UpProcess:
    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "up.log"

    @property
    def redis_url(self) -> str:
        """The embedded Redis `up` started (it writes its state file once everything runs)."""
        return str(json.loads((self.data_dir / "state.json").read_text())["redis_url"])

    def stop(self, timeout: float = 60) -> int:
        """Ctrl-C, as a person stops it; killed if it has not stopped within `timeout`."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_up(data_dir: Path, args: list[str] | None = None, env: dict[str, str] | None = None,
             cwd: Path | None = None, timeout: float = 90) -> UpProcess:
    """Start `lightbox up` with its data in `data_dir` and embedded services (REDIS_URL and
    S3_ENDPOINT_URL are dropped), and wait until it answers; RuntimeError with its log if it does not."""
    port = free_port()
    full_env = {**os.environ, "LIGHTBOX_DATA_DIR": str(data_dir), **(env or {})}
    for name in ("REDIS_URL", "S3_ENDPOINT_URL"):
        full_env.pop(name, None)
    # A file, not a pipe: nobody drains a pipe while tests or benches run, and a full one blocks every log write.
    with (data_dir / "up.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "lightbox", "up", "-p", str(port), *(args or [])],
                                cwd=cwd, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    up = UpProcess(proc, port, data_dir)
    deadline = time.monotonic() + timeout
    while True:
        try:
            # Serving, and done printing what it runs (the last line of that comes after the port answers).
            if ((data_dir / "state.json").is_file() and "Ctrl-C stops everything" in up.log_path.read_text()
                    and requests.get(f"{up.url}/_lightbox/health", timeout=2).ok):
                return up
        except requests.ConnectionError:
            pass
        if up.proc.poll() is not None or time.monotonic() > deadline:
            up.stop(timeout=10)
            raise RuntimeError(f"lightbox up did not start:\n{up.log_path.read_text()[-3000:]}")
        time.sleep(0.2)
