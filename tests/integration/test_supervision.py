"""Nothing `lightbox up` starts outlives it, however it ends: SIGKILL, SIGTERM, a busy port, a service
that fails to start. Checked by pid: the process tree is read from /proc before, and afterwards every
pid in it must be gone (a zombie nobody reaped counts as gone)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lightbox.services.processes import free_port
from lightbox.stack import folder_lock
from lightbox.testing.up import UpProcess, start_up

APP = Path(__file__).resolve().parents[1] / "apps" / "invoke" / "template.yaml"


def _parent_of(pid: int) -> tuple[int, str] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), fields[0]


def descendants(root: int) -> set[int]:
    """Every live process below `root`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _parent_of(int(entry.name))) and found[1] != "Z":
            children.setdefault(found[0], []).append(int(entry.name))
    out: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    found = _parent_of(pid)
    return found is not None and found[1] != "Z"


def wait_until_gone(pids: set[int], timeout: float = 20.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while (left := {p for p in pids if alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def started_tree(up: UpProcess) -> set[int]:
    """The stack's processes once RQ's scheduler (a process a worker forks: a grandchild) is among them."""
    deadline = time.monotonic() + 30
    while True:
        tree = descendants(up.proc.pid)
        children = {p for p in tree if (_parent_of(p) or (0, ""))[0] == up.proc.pid}
        if tree - children or time.monotonic() > deadline:
            return tree
        time.sleep(0.1)


def _commands(pids: set[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return out


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_nothing_outlives_lightbox_up(tmp_path: Path, how: signal.Signals) -> None:
    up = start_up(tmp_path, ["-t", str(APP)])
    try:
        tree = started_tree(up)
        children = {p for p in tree if (_parent_of(p) or (0, ""))[0] == up.proc.pid}
        commands = _commands(children)
        assert any("redis-server" in c for c in commands), commands
        assert any("lightbox.services.cloud" in c for c in commands), commands
        assert sum("lightbox worker" in c for c in commands) == 2, commands
        assert tree - children, _commands(tree)  # RQ's scheduler, forked by a worker: a grandchild
        up.proc.send_signal(how)
        up.proc.wait(timeout=30)
        assert wait_until_gone(tree) == set(), _commands(tree)
    finally:
        up.stop(timeout=5)
    out = up.log_path.read_text()
    assert f"Lambda API  {up.url}" in out  # where `aws lambda invoke --endpoint-url` goes
    if how == signal.SIGTERM:
        assert "lightbox: stopping" in out


# Run `lightbox up` under a subreaper: whatever it leaves behind becomes this script's child, by pid.
_UNDER_SUBREAPER = textwrap.dedent("""
    import ctypes, json, os, subprocess, sys
    from pathlib import Path
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    done = subprocess.run([sys.executable, "-m", "lightbox", "up", *sys.argv[1:]], capture_output=True, text=True,
                          timeout=120)
    left = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and fields[0] != "Z":
                left.append((entry / "cmdline").read_bytes().replace(b"\\0", b" ").decode())
                os.kill(int(entry.name), 9)
    print(json.dumps({"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr, "left": left}))
""")


def run_up_under_subreaper(tmp_path: Path, args: list[str], env: dict[str, str] | None = None) -> dict[str, object]:
    full = {**os.environ, "LIGHTBOX_DATA_DIR": str(tmp_path / "data"), **(env or {})}
    for name in ("REDIS_URL", "S3_ENDPOINT_URL"):
        full.pop(name, None)
    out = subprocess.run([sys.executable, "-c", _UNDER_SUBREAPER, "-t", str(APP), *args], capture_output=True,
                         text=True, env=full, timeout=180, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_busy_port_is_one_clear_line_and_leaves_nothing(tmp_path: Path) -> None:
    import socket

    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        got = run_up_under_subreaper(tmp_path, ["-p", str(port)])
    assert got["code"] == 2
    assert got["stderr"] == f"lightbox: error: port {port} on 127.0.0.1 is in use (Address already in use): stop " \
                            "what holds it, or choose another with --port\n"
    assert got["left"] == []


def test_a_service_that_fails_to_start_stops_what_did_start(tmp_path: Path) -> None:
    # A moto server that exits while starting, after redis-server started (only that process: the
    # emulator itself imports moto too, for its event-pattern matcher).
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "sitecustomize.py").write_text(
        "import os, sys\nif 'lightbox.services.cloud' in sys.orig_argv:\n    os._exit(1)\n")
    got = run_up_under_subreaper(tmp_path, ["-p", str(free_port())], env={"PYTHONPATH": str(broken)})
    assert got["code"] == 2
    assert "lightbox: error: moto server exited with code 1 while starting" in str(got["stderr"])
    assert "Traceback" not in str(got["stderr"])
    assert got["left"] == []


def test_a_second_up_on_the_same_data_folder_is_one_clear_line_and_touches_nothing(tmp_path: Path) -> None:
    import requests

    data = tmp_path / "data"
    data.mkdir()
    first = start_up(data, ["-t", str(APP)])
    try:
        kept = sorted(p.name for p in data.iterdir())
        got = run_up_under_subreaper(tmp_path, ["-p", str(free_port()), "--reset"])
        assert got["code"] == 2
        assert got["stderr"] == (f"lightbox: error: {data.resolve()}: another `lightbox up` (pid {first.proc.pid}) "
                                 "uses this data folder; stop it, or run this one from another folder or with "
                                 "LIGHTBOX_DATA_DIR=another-folder\n")
        assert got["left"] == []
        assert sorted(p.name for p in data.iterdir()) == kept  # --reset removed nothing of the running stack's
        assert requests.get(f"{first.url}/_lightbox/health", timeout=10).ok
    finally:
        first.stop(timeout=10)
    # The folder is free again once its stack ended (however: the kernel drops the lock with the process).
    os.close(folder_lock.hold(data))
