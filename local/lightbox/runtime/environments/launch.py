"""Starting an environment's process: Lambda's variables, its own TMPDIR, and a death tied to ours.

Every child is started from one long-lived spawner thread: PR_SET_PDEATHSIG fires when the
*thread* that forked the child ends, so a child forked from a request's thread would be killed
when that request's thread ends. The spawner thread lives as long as the process, and the
process's death (however it dies, SIGKILL included) kills every environment.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lightbox.runtime.environments.runtimes import Launch
from lightbox.template.model import Function

PR_SET_PDEATHSIG = 1
_spawners: dict[int, ThreadPoolExecutor] = {}  # by pid: a forked process (a gunicorn worker) needs its own


def _spawner() -> ThreadPoolExecutor:
    pid = os.getpid()
    if pid not in _spawners:
        _spawners[pid] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lambda-spawner")
    return _spawners[pid]


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: SIGKILL when the spawner thread (so the emulator) dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def lambda_variables(fn: Function, api: str, region: str, stream: str) -> dict[str, str]:
    """What Lambda sets in every environment (the template's and the emulator's come with the base)."""
    name = fn.function_name or fn.name
    return {
        "AWS_LAMBDA_RUNTIME_API": api,
        "_HANDLER": fn.handler,
        "LAMBDA_TASK_ROOT": str(fn.code_uri),
        "LAMBDA_RUNTIME_DIR": str(Path(__file__).parent),
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
    }


def process_env(base: dict[str, str], fn: Function, launch: Launch, lambda_vars: dict[str, str],
                tmpdir: Path) -> dict[str, str]:
    env = {**base, **launch.env, **lambda_vars, "TMPDIR": str(tmpdir)}
    bins = [str(layer / "bin") for layer in fn.layers if (layer / "bin").is_dir()]
    libs = [str(layer / "lib") for layer in fn.layers if (layer / "lib").is_dir()]
    if bins:  # what Lambda maps to /opt/bin and /opt/lib
        env["PATH"] = os.pathsep.join([*bins, env.get("PATH", os.defpath)])
    if libs:
        env["LD_LIBRARY_PATH"] = os.pathsep.join([*libs, *filter(None, [env.get("LD_LIBRARY_PATH")])])
    if base.get("PYTHONPATH") and launch.env.get("PYTHONPATH") is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [launch.env["PYTHONPATH"], base["PYTHONPATH"]]))
    return env


def spawn(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """The environment's process, in a process group of its own (its subprocesses die with it),
    output piped to the host, which tags each line with the request id."""
    parent = os.getpid()

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=lambda: _die_with_parent(parent))

    return _spawner().submit(start).result()


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """SIGSTOP / SIGCONT to the environment and anything it started."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def kill(proc: subprocess.Popen[bytes]) -> None:
    """The environment and anything it started."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        if proc.poll() is None:
            proc.kill()
