"""Pipeline throughput A/B: the photo pipeline on execution environments against the thread model, one run.

    .venv/bin/python bench/bench_pipeline_isolation.py [--photos 20] [--rounds 4] [--no-write]

The same run as bench_pipeline.py (`lightbox up --workers 2` on embedded Redis and S3, each distinct photo
sent through once to warm up, then every photo uploaded through presigned POSTs by four client threads;
wall from the first POST /uploads to the last `photo.processing.completed` on the event stream), twice
per round: once as shipped (each function in its execution environments) and once with
LIGHTBOX_ISOLATION=thread (handlers on the workers' threads, the model environments replaced). The side
that goes first alternates between rounds, so a slow stretch of the shared machine does not land on one
side only. The corpus is small (phone and camera photos cycled to --photos) so the whole A/B takes a few
minutes. Prints markdown and writes it to docs/benchmarks.md under "## Pipeline throughput, environments
against threads". No timed assertions.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "photolib" / "python"), str(ROOT)]

from bench.bench_pipeline import CORPORA, corpus, run_pipeline
from bench.report import write_section
from bench.timing import load_note, p50

TITLE = "Pipeline throughput, environments against threads"
COMMAND = ".venv/bin/python bench/bench_pipeline_isolation.py"
SIDES = {"environments": "process", "threads": "thread"}
TARGET = 1.1  # environments' wall at most this many times the thread model's


def stack_cpu(run: dict[str, Any]) -> float:
    """CPU seconds of `up` and every process it had started by the end of the warm-up."""
    return sum(cpu for _, cpu in run["cpu"].values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4, help="an even number: each side goes first as often")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4, help="client threads uploading at once")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    photos = corpus(args.photos, CORPORA["mixed"])
    blobs = {p: p.read_bytes() for p in set(photos)}
    load_before = load_note()
    started = time.monotonic()
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for i in range(args.rounds):
        for side in (list(SIDES) if i % 2 == 0 else list(reversed(SIDES))):
            run = run_pipeline(photos, blobs, args.workers, args.clients, {"LIGHTBOX_ISOLATION": SIDES[side]})
            outcomes = [kind for kind, _ in run["final"].values()]
            print(f"round {i + 1}, {side}: {run['wall']:.2f} s wall, {outcomes.count('photo.processing.completed')} "
                  f"of {len(photos)} completed", flush=True)
            runs[side].append(run)
    text = report(runs, len(photos), args, load_before, load_note(), time.monotonic() - started)
    print(text)
    if not args.no_write:
        write_section(TITLE, text)
        print(f"\nwritten to docs/benchmarks.md under '## {TITLE}'")


def report(runs: dict[str, list[dict[str, Any]]], photos: int, args: argparse.Namespace, before: str, after: str,
           seconds: float) -> str:
    walls = {side: [r["wall"] for r in rs] for side, rs in runs.items()}
    env, thread = walls["environments"], walls["threads"]
    per_round = [e / t for e, t in zip(env, thread, strict=True)]
    best = min(env) / min(thread)
    lines = [
        f"`{COMMAND}`. {photos} photos (the phone photos of corpus/mobile and the camera samples of corpus/exif, "
        f"cycled), `lightbox up --workers {args.workers}` on embedded Redis and S3, {args.clients} client threads "
        f"uploading through presigned POSTs after a warm-up with each distinct photo; {args.rounds} rounds, each "
        f"running both sides, the first side alternating. {platform.machine()}, Python {platform.python_version()}; "
        f"{before} before and {after} after; the A/B took {seconds / 60:.1f} min, "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}.",
        "",
        "| | execution environments | LIGHTBOX_ISOLATION=thread | environments / threads |",
        "| --- | ---: | ---: | ---: |",
        f"| wall s, first upload -> last completed: best | {min(env):.2f} | {min(thread):.2f} | **{best:.2f}x** |",
        f"| wall s: median | {p50(env):.2f} | {p50(thread):.2f} | {p50(env) / p50(thread):.2f}x |",
        f"| wall s: every round | {' / '.join(f'{w:.2f}' for w in env)} | {' / '.join(f'{w:.2f}' for w in thread)} "
        f"| {' / '.join(f'{r:.2f}x' for r in per_round)} |",
    ]
    cpu = {side: [stack_cpu(r) for r in rs] for side, rs in runs.items()}
    lines.append(f"| CPU s of the stack (`up` and every process it started), median | {p50(cpu['environments']):.2f} "
                 f"| {p50(cpu['threads']):.2f} | {p50(cpu['environments']) / p50(cpu['threads']):.2f}x |")
    done = {side: [sum(kind == "photo.processing.completed" for kind, _ in r["final"].values()) for r in rs]
            for side, rs in runs.items()}
    lines.append(f"| photos completed per round | {' / '.join(map(str, done['environments']))} "
                 f"| {' / '.join(map(str, done['threads']))} | |")
    paired = p50(per_round)
    verdict = "met" if paired <= TARGET else "**missed**"
    lines += ["", f"Target: environments' wall no worse than {TARGET}x the thread model's, judged on the median of "
              f"the per-round ratios (the two sides of a round meet the same load): {verdict} ({paired:.2f}x; best "
              f"against best {best:.2f}x). The stack's CPU counts the environment processes the workers had started "
              "by the end of the warm-up."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
