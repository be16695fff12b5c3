"""`lightbox up` as a user runs it, once for the e2e tests: embedded services, the photo app;
at the end Ctrl-C must stop every process it started."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from lightbox.testing.up import start_up

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("lightbox-up")
    up = start_up(data, env={"LIGHTBOX_PARAMETER_OVERRIDES": f"PhotosDbPath={data}/p.db"}, cwd=ROOT)
    yield up.url
    # Ctrl-C, as a user stops it: every process it started must be gone, and quickly.
    returncode = up.stop()
    out = up.log_path.read_text()
    assert returncode == 0, out
    assert "lightbox: stopping" in out
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", up.port), timeout=1):
        pass
