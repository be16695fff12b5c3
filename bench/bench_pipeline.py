"""Pipeline throughput: 50 uploads end to end on `lightbox up --workers 2`, against the pure image work.

    .venv/bin/python bench/bench_pipeline.py [--photos 50] [--workers 2] [--rounds 3] [--no-write]

Baseline, in the same run: each stage's own work function (validate, metadata, thumbnails,
optimize: the photolib calls the stage makes, on bytes in memory, no S3, Redis or SQLite) is timed
on every photo in this process; the sum divided by the worker count is the ideal wall time.
The same work is also run on a pool of that many processes: what this machine gives that many
busy processes at that moment. The machine is shared, so each round measures the baseline, the
pool and the pipeline in turn, a last baseline closes the run, and the best of each is compared.
CPU seconds (the baseline's process time; /proc for every process of the stack) are reported
too: unlike wall time they do not move with whatever else the machine is running.

The real thing: `lightbox up --workers 2` with embedded Redis and S3 (bucket events through
S3 -> SQS -> poller), each distinct photo sent through once first (warm-up, as the baseline has),
then every photo uploaded through a presigned POST by four client threads. Wall time runs from
the first POST /uploads to the last `photo.processing.completed` on the event stream (stream ids
carry Redis' clock, so how often we read does not move it). Per function: the runtime's logged
invocation time and RQ's own job timestamps. Prints markdown and writes it to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "photolib" / "python"), str(ROOT)]

import requests

from bench import pipeline_stack
from bench.pipeline_report import QUEUES, report
from bench.report import write_section
from photolib.config import DEFAULT_PIPELINE, load_settings
from photolib.models import Photo, new_id
from photolib.pipeline import original_key

CORPUS = ROOT / "tests" / "corpus"
TITLE = "Pipeline throughput"

Work = Callable[[Any, Photo, bytes], Any]


CORPORA = {"mixed": ("mobile", "exif"), "phone": ("mobile",)}


def corpus(count: int, folders: tuple[str, ...] = CORPORA["mixed"]) -> list[Path]:
    """The photos of `folders` (phone photos, camera photos), cycled to `count`."""
    found = sorted(
        p
        for d in folders
        for p in (CORPUS / d).iterdir()
        if p.suffix.lower() in pipeline_stack.TYPES
    )
    return list(itertools.islice(itertools.cycle(found), count))


def stage_work() -> dict[str, Work]:
    """Each stage's work function, imported from functions/<stage>/app.py as the runtime would."""
    out: dict[str, Work] = {}
    for stage in DEFAULT_PIPELINE:
        spec = importlib.util.spec_from_file_location(
            f"bench_stage_{stage}", ROOT / "functions" / stage / "app.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        out[stage] = getattr(module, stage)
    return out


def pure_work(path: Path, data: bytes, work: dict[str, Work]) -> dict[str, float]:
    """Seconds each stage's work takes on one photo. The work functions read only `settings` from
    their Deps; there is no repository, storage, Redis or queue to reach."""
    deps = SimpleNamespace(settings=load_settings())
    photo_id = new_id()
    photo = Photo(
        id=photo_id,
        client_id="bench",
        filename=path.name,
        content_type=pipeline_stack.TYPES[path.suffix.lower()],
        declared_size=len(data),
        key=original_key("bench", photo_id),
    )
    times = {}
    for stage, run in work.items():
        start = time.perf_counter()
        run(deps, photo, data)
        times[stage] = time.perf_counter() - start
    return times


def sequential_baseline(
    photos: list[Path], blobs: dict[Path, bytes], work: dict[str, Work]
) -> tuple[list[dict[str, float]], float]:
    """Per photo, seconds per stage; and the CPU seconds of the whole run (one thread: what the
    work costs whatever else the machine is doing)."""
    for path in dict.fromkeys(photos):  # warm-up: imports, codec and ICC set-up, as a warm worker has
        pure_work(path, blobs[path], work)
    cpu = time.process_time()
    timings = [pure_work(path, blobs[path], work) for path in photos]
    return timings, time.process_time() - cpu


_pool_state: dict[str, Any] = {}


def _pool_init(paths: list[Path]) -> None:
    _pool_state["work"] = stage_work()
    _pool_state["blobs"] = {p: p.read_bytes() for p in paths}
    for path in paths:
        pure_work(path, _pool_state["blobs"][path], _pool_state["work"])


def _pool_task(path: Path) -> float:
    return sum(pure_work(path, _pool_state["blobs"][path], _pool_state["work"]).values())


def pooled_baseline(photos: list[Path], workers: int) -> float:
    """Wall seconds for the pure work of every photo on `workers` processes, each warmed first."""
    unique = list(dict.fromkeys(photos))
    with ProcessPoolExecutor(workers, initializer=_pool_init, initargs=(unique,)) as pool:
        list(pool.map(time.sleep, [0.5] * workers))  # every process started and warmed
        start = time.perf_counter()
        list(pool.map(_pool_task, photos))
        return time.perf_counter() - start


def run_pipeline(photos: list[Path], blobs: dict[Path, bytes], workers: int, clients: int,
                 env: dict[str, str] | None = None) -> dict[str, Any]:
    """One `lightbox up` (with `env` added to its variables), warmed, then every photo uploaded."""
    with tempfile.TemporaryDirectory(prefix="lightbox-bench-") as tmp:
        stack = pipeline_stack.start(Path(tmp), workers, env)
        try:
            # Warm-up, as the baseline's: imports, codecs, every file once; from `clients` threads, as the
            # timed run sends, so the execution environments the run's concurrency needs are started.
            def warm_one(path: Path) -> str:
                with requests.Session() as session:
                    return pipeline_stack.upload(stack.url, path, blobs[path], session)

            with ThreadPoolExecutor(clients) as pool:
                warm = set(pool.map(warm_one, dict.fromkeys(photos)))
            pipeline_stack.wait_final(stack.redis, warm, "0-0", timeout=120)
            time.sleep(0.5)  # the warm-up's last log lines land before the clock starts
            after = pipeline_stack.stream_position(stack.redis)
            tree = pipeline_stack.process_tree(stack.proc.pid)
            cpu_before, client_cpu = pipeline_stack.cpu_seconds(tree), time.process_time()
            started: dict[str, float] = {}

            def one(path: Path) -> None:
                with requests.Session() as session:
                    begun = time.time()
                    started[pipeline_stack.upload(stack.url, path, blobs[path], session)] = begun

            t0 = time.time()
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(one, photos))
            uploaded = time.time()
            final = pipeline_stack.wait_final(stack.redis, set(started), after, timeout=600)
            cpu_after, client_cpu = pipeline_stack.cpu_seconds(tree), time.process_time() - client_cpu
            jobs = pipeline_stack.job_runs(stack.redis, list(QUEUES), t0)
        finally:
            pipeline_stack.stop(stack)
        # Read once `up` has stopped: a handler publishes `completed` before the runtime logs its line.
        logged = pipeline_stack.invocations(stack.log_path, t0)
    end = max(t for _, t in final.values()) if final else time.time()
    return {
        "t0": t0,
        "end": end,
        "wall": end - t0,
        "upload_wall": uploaded - t0,
        "final": final,
        "started": started,
        "invocations": logged,
        "jobs": jobs,
        "cpu": {pid: (tree[pid], cpu_after[pid] - cpu_before[pid]) for pid in tree},
        "client_cpu": client_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4, help="client threads uploading at once")
    parser.add_argument("--rounds", type=int, default=3, help="pipeline runs, each with its baselines")
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="mixed",
                        help="mixed: phone photos and the small camera samples; phone: phone photos only")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    photos = corpus(args.photos, CORPORA[args.corpus])
    blobs = {p: p.read_bytes() for p in set(photos)}
    work = stage_work()
    load_before = os.getloadavg()[0]
    timings: list[list[dict[str, float]]] = []
    cpus: list[float] = []
    pools: list[float] = []
    runs: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        timing, cpu = sequential_baseline(photos, blobs, work)
        timings.append(timing)
        cpus.append(cpu)
        pools.append(pooled_baseline(photos, args.workers))
        runs.append(run_pipeline(photos, blobs, args.workers, args.clients))
    timing, cpu = sequential_baseline(photos, blobs, work)
    timings.append(timing)
    cpus.append(cpu)
    bases = [sum(sum(t.values()) for t in timing) for timing in timings]
    best = timings[bases.index(min(bases))]
    table = report(
        photos,
        args.workers,
        args.clients,
        bases,
        min(cpus),
        best,
        pools,
        runs,
        (load_before, os.getloadavg()[0]),
    )
    print(table)
    if not args.no_write:
        title = TITLE if args.corpus == "mixed" else f"{TITLE}, {args.corpus} photos only"
        if args.workers != 2:  # the setting keeps the plain titles
            title += f", {args.workers} worker{'s' if args.workers > 1 else ''}"
        write_section(title, table)
        print(f"\nwritten to {Path('docs') / 'benchmarks.md'} under '## {title}'")


if __name__ == "__main__":
    main()
