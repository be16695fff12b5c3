"""Execution environments: cold start, warm invoke and memory, per Python runtime interface client.

    .venv/bin/python bench/bench_environments.py [--quick] [--no-write]

Measured in one run, on one machine, against baselines taken in the same run:

* Cold start of a trivial Python function: Init Duration (process start to its first
  /next, i.e. interpreter start + runtime client + handler import) and the whole first
  invocation as a caller waits for it, for lightbox's own bootstrap and for AWS's awslambdaric
  (when installed). Baseline: `python -c pass` (an interpreter's own start).
* Warm invoke p50 of the same function through Runtime.invoke: environments with each client,
  against the in-process thread model (Runtime), which is what environments replace.
* RSS of one warm environment: the trivial function, and a photo app stage (ValidateFunction
  of template.yaml: boto3, pydantic, Pillow imported), read from /proc.

Prints a markdown table and writes it to docs/benchmarks.md under "## Execution environments".
No timed assertions: the targets are reported.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import write_section
from bench.timing import load_note, ms_since, p50
from lightbox import config
from lightbox.config import Settings
from lightbox.runtime.environments.memory import tree_rss_mb
from lightbox.runtime.environments.pool import Limits
from lightbox.runtime.environments.runtime import ProcessRuntime
from lightbox.runtime.invoke import Runtime
from lightbox.template.loader import load_for

TITLE = "Execution environments"
COMMAND = ".venv/bin/python bench/bench_environments.py"
COLD_TARGET_MS = 150.0
TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  TrivialFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fn/, Handler: app.handler, Runtime: python3.11, MemorySize: 128}
"""
HANDLER = "def handler(event, context):\n    return {'ok': True}\n"


def app_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench-env-"))
    (folder / "fn").mkdir()
    (folder / "fn" / "app.py").write_text(HANDLER)
    (folder / "template.yaml").write_text(TEMPLATE)
    return folder


def cold_starts(settings: Settings, client: str, n: int) -> tuple[list[float], list[float], float]:
    """Init Duration and first-invocation latency of n fresh environments; RSS of the last one."""
    inits, firsts, rss = [], [], 0.0
    for _ in range(n):
        rt = ProcessRuntime(load_for(settings), limits=Limits(4, 600, True), client=client)
        started = time.perf_counter()
        inv = rt.invoke("TrivialFunction", {})
        firsts.append(ms_since(started))
        assert inv.ok, inv.error
        pool = rt.pool(rt.template.function("TrivialFunction"))
        env = pool.idle[0]
        assert env.init_ms is not None
        inits.append(env.init_ms)
        rss = tree_rss_mb(env.pid)
        rt.close()
    return inits, firsts, rss


def warm_invokes(rt: Runtime, n: int) -> list[float]:
    rt.invoke("TrivialFunction", {})
    out = []
    for _ in range(n):
        started = time.perf_counter()
        rt.invoke("TrivialFunction", {}).unwrap()
        out.append(ms_since(started))
    return out


def interpreter_start(n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        out.append(ms_since(started))
    return out


def photo_stage_rss() -> float | None:
    """One warm environment of the photo app's validate stage, after its import."""
    settings = Settings.load(template=ROOT / "template.yaml", data_dir=Path(tempfile.mkdtemp()),
                             parameter_overrides={"PhotosDbPath": str(Path(tempfile.mkdtemp()) / "p.db")})
    rt = ProcessRuntime(load_for(settings), limits=Limits(4, 600, True))
    try:
        fn = rt.template.function("ValidateFunction")
        pool = rt.pool(fn)
        env, _ = pool.acquire(wait=False)
        pool.release(env)
        deadline = time.monotonic() + 30
        while env.init_ms is None and not env.dead and time.monotonic() < deadline:
            time.sleep(0.02)
        return tree_rss_mb(env.pid) if env.init_ms is not None else None
    finally:
        rt.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # START/END/REPORT lines are not what is measured here
    colds, warms = (5, 200) if args.quick else (20, 1000)
    folder = app_dir()
    settings = Settings.load(template=folder / "template.yaml", data_dir=folder / "data")
    clients = ["lightbox"] + (["awslambdaric"] if importlib.util.find_spec("awslambdaric") else [])
    rows = []
    python = p50(interpreter_start(colds))
    rows.append(("`python -c pass` (baseline: an interpreter's start)", f"{python:.1f} ms", "", "", "", ""))
    thread_rt = Runtime(load_for(settings))
    thread = p50(warm_invokes(thread_rt, warms))
    thread_rt.close()
    for client in clients:
        inits, firsts, rss = cold_starts(settings, client, colds)
        rt = ProcessRuntime(load_for(settings), client=client)
        warm = p50(warm_invokes(rt, warms))
        rt.close()
        init, first = p50(inits), p50(firsts)
        default = " (`lightbox up`'s default)" if client == config.python_ric() else ""
        rows.append((f"environment, {client} client{default}", f"{init:.1f} ms", f"{first:.1f} ms",
                     f"{warm:.3f} ms ({warm - thread:+.3f} ms vs threads)", f"{rss:.1f} MB",
                     "met" if max(init, first) < COLD_TARGET_MS else "**missed**"))
    rows.append(("in-process thread (Runtime, before environments)", "-", "-", f"{thread:.3f} ms", "-", ""))
    stage = photo_stage_rss()
    table = ["| | cold start: Init Duration p50 | first invocation p50 (wall, as the caller waits) | warm invoke p50 "
             f"| RSS of one warm environment | cold start under {COLD_TARGET_MS:.0f} ms |",
             "| --- | --- | --- | --- | --- | --- |"]
    table += [f"| {' | '.join(row)} |" for row in rows]
    stage_text = f"{stage:.1f} MB" if stage is not None else "not measured (its import failed)"
    note = (f"\nPhoto app stage (ValidateFunction, after its import): {stage_text} RSS.\n"
            f"\n`{COMMAND}{' --quick' if args.quick else ''}`: {colds} cold starts and {warms} warm invokes per "
            f"row. Target for a cold start: Init Duration and the first invocation both under {COLD_TARGET_MS:.0f} ms. "
            "The interpreter's own start is the floor, and it moves with the machine's load: "
            f"{load_note()} at the end of this run. Python "
            f"{sys.version.split()[0]}, {time.strftime('%Y-%m-%d', time.gmtime())}.")
    text = "\n".join(table) + "\n" + note
    print(text)
    if not args.no_write:
        write_section(TITLE, text)


if __name__ == "__main__":
    main()
