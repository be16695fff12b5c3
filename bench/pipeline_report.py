"""The markdown that bench_pipeline.py writes: the headline figures, where the workers' time went,
per-function timings and CPU seconds per process."""

from __future__ import annotations

import itertools
import os
import platform
import statistics
from pathlib import Path
from typing import Any

from bench import pipeline_stack
from bench.timing import p50, percentile
from photolib.config import DEFAULT_PIPELINE

TARGET = 0.20
KINDS = {"mobile": "phone photos", "exif": "camera photos"}
FUNCTIONS = {"ingest": "IngestFunction", **{s: f"{s.capitalize()}Function" for s in DEFAULT_PIPELINE}}
QUEUES = {**{f"{s.capitalize()}Queue": s for s in DEFAULT_PIPELINE}, "BucketEventsQueue": "ingest"}


def worker_time(run: dict[str, Any], pure: float) -> list[tuple[str, float]]:
    """Where the workers' seconds (wall x workers) went; the rows add up to wall x workers, so
    everything past the pure work is exactly the overhead."""
    t0, end = run["t0"], run["end"]
    by_worker: dict[str, list[pipeline_stack.JobRun]] = {}
    for job in sorted(run["jobs"], key=lambda j: j.started):
        by_worker.setdefault(job.worker, []).append(job)
    ran = sum(min(j.ended, end) - max(j.started, t0) for jobs in by_worker.values() for j in jobs)
    invoked = sum(sum(run["invocations"].get(f, [])) for f in FUNCTIONS.values()) / 1000
    before = sum(jobs[0].started - t0 for jobs in by_worker.values())
    after = sum(end - jobs[-1].ended for jobs in by_worker.values())
    gaps = [(a.ended, b.started) for jobs in by_worker.values() for a, b in itertools.pairwise(jobs)]
    # A gap with a job already waiting when it began is the worker's own turnaround (RQ's success
    # bookkeeping, dequeue, job fetch); without one, the pipeline had nothing ready for it.
    waiting = [any(j.enqueued <= gap_start < j.started for j in run["jobs"]) for gap_start, _ in gaps]
    turnaround = sum(e - s for (s, e), w in zip(gaps, waiting, strict=True) if w)
    starved = sum(e - s for (s, e), w in zip(gaps, waiting, strict=True) if not w)
    return [
        ("pure image work (baseline)", pure),
        (
            "invocations beyond the pure work: S3, SQLite, events, SQS send, CPU shared with the servers",
            invoked - pure,
        ),
        ("RQ per job around the invocation (job state, registries, result)", ran - invoked),
        ("idle before its first job (upload, bucket event, poller, ingest)", before),
        (f"between jobs with a job waiting: RQ's turnaround ({sum(waiting)} gaps)", turnaround),
        (f"between jobs with no job ready ({len(waiting) - sum(waiting)} gaps)", starved),
        ("idle after its last job until the last completion (tail)", after),
    ]


def report(
    photos: list[Path],
    workers: int,
    clients: int,
    bases: list[float],
    pure_cpu: float,
    best: list[dict[str, float]],
    pools: list[float],
    runs: list[dict[str, Any]],
    load: tuple[float, float],
) -> str:
    pure = min(bases)
    ideal = pure / workers
    stage_ms = {s: statistics.mean(t[s] for t in best) * 1000 for s in DEFAULT_PIPELINE}
    per_photo = {
        kind: statistics.mean(
            sum(t.values()) for p, t in zip(photos, best, strict=True) if p.parent.name == kind
        )
        * 1000
        for kind in ("mobile", "exif")
        if any(p.parent.name == kind for p in photos)
    }
    run = min(runs, key=lambda r: r["wall"])
    wall = run["wall"]
    statuses = [status for status, _ in run["final"].values()]
    latencies = [run["final"][pid][1] - begun for pid, begun in run["started"].items() if pid in run["final"]]
    mobile = sum(1 for p in photos if p.parent.name == "mobile")
    walls = ", ".join(f"{r['wall']:.2f}" for r in runs)
    lines = [
        (
            f"{len(photos)} photos ({mobile} phone photos from corpus/mobile, "
            f"{len(photos) - mobile} camera photos from "
            f"corpus/exif, cycled), `lightbox up --workers {workers}` on embedded Redis and S3 (bucket events: S3 -> "
            f"SQS -> poller), {clients} client threads uploading through presigned POSTs, after a warm-up with each "
            "distinct photo. "
            f"`os.cpu_count()` = {os.cpu_count()}, Python {platform.python_version()}, "
            f"load average {load[0]:.2f} before "
            f"and {load[1]:.2f} after. The machine is shared, so each side is measured {len(runs)} times, interleaved, "
            "and the best of each is compared. Ideal = the pure image work of every photo (each stage's own work "
            f"function on bytes in memory: no S3, Redis or SQLite), summed, / {workers}; overhead = wall / ideal - 1."
        ),
        "",
        "| measure | seconds |",
        "| --- | ---: |",
        (
            f"| pure image work, sum over {len(photos)} photos (best of {', '.join(f'{b:.2f}' for b in bases)}) "
            f"| {pure:.2f} |"
        ),
        f"| ideal on {workers} workers (sum / {workers}) | {ideal:.2f} |",
        (
            f"| pure image work on a pool of {workers} processes (best of {', '.join(f'{p:.2f}' for p in pools)}) "
            f"| {min(pools):.2f} |"
        ),
        f"| pipeline wall, first upload -> last completed (best of {walls}) | {wall:.2f} |",
        f"| of which the client uploading all {len(photos)} | {run['upload_wall']:.2f} |",
        f"| **overhead: wall / ideal - 1** (target under {TARGET:.0%}) | **{wall / ideal - 1:+.0%}** |",
        f"| median run: wall / ideal - 1 | {p50(r['wall'] for r in runs) / ideal - 1:+.0%} |",
        f"| wall / pool of {workers} processes - 1 | {wall / min(pools) - 1:+.0%} |",
        (
            f"| per-photo latency, upload -> completed: p50 / p95 / max | {percentile(latencies, 50):.2f} / "
            f"{percentile(latencies, 95):.2f} / {max(latencies):.2f} |"
        ),
        "",
        (
            f"Outcomes: {statuses.count('photo.processing.completed')} completed, "
            f"{statuses.count('photo.processing.failed')} failed, {len(photos) - len(statuses)} unfinished."
        ),
        "",
        f"Where the workers' {wall * workers:.2f} s ({wall:.2f} s wall x {workers}) went, best run:",
        "",
        "| worker time | s | % of pure work |",
        "| --- | ---: | ---: |",
        *(f"| {what} | {sec:.2f} | {sec / pure:.0%} |" for what, sec in worker_time(run, pure)),
        "",
        (
            "Per function, mean ms: the pure work (baseline), the invocation as the runtime logged it (adds the S3 "
            "GET of the original, derivative PUTs, SQLite, events, the next SQS send, and CPU shared with the other "
            "processes), RQ's job run (started -> ended) and queue wait (enqueued -> started: mostly backlog)."
        ),
        "",
        "| function | n | pure work | invocation | added by the invocation | RQ job run | RQ queue wait p50 / p95 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for stage, function in FUNCTIONS.items():
        inv = run["invocations"].get(function, [])
        jobs = [j for j in run["jobs"] if QUEUES[j.queue] == stage]
        base_ms = stage_ms.get(stage)
        inv_ms = statistics.mean(inv) if inv else float("nan")
        waited = [(j.started - j.enqueued) * 1000 for j in jobs]
        lines.append(
            f"| {function} | {len(inv)} | {'-' if base_ms is None else f'{base_ms:.1f}'} | {inv_ms:.1f} | "
            f"{'-' if base_ms is None else f'{inv_ms - base_ms:+.1f}'} | "
            f"{statistics.mean((j.ended - j.started) * 1000 for j in jobs) if jobs else float('nan'):.1f} | "
            f"{percentile(waited, 50):.0f} / {percentile(waited, 95):.0f} |"
        )
    by_role: dict[str, float] = {}
    for role, seconds in run["cpu"].values():
        by_role[role] = by_role.get(role, 0.0) + seconds
    stack_cpu = sum(by_role.values())
    cpus = os.cpu_count() or 1
    fixed = (stack_cpu - pure_cpu) / len(photos) * 1000
    # wall / ideal = threads x plumbing x packing, where the workers fill the machine's CPUs.
    threads, plumbing, packing = pure_cpu / pure, stack_cpu / pure_cpu, wall / (stack_cpu / cpus)
    lines += [
        "",
        (
            f"CPU seconds, best run. Unlike wall time these do not move with the machine's other load. The pure work "
            f"costs {pure_cpu:.2f} CPU-s (the baseline's own process time) in {pure:.2f} s of wall: it kept "
            f"{threads:.2f} CPUs busy"
            + (", since some decoders (libheif) run on several threads" if threads > 1.02 else "")
            + f". The stack spent "
            f"{stack_cpu:.2f} CPU-s, **{plumbing - 1:+.0%}** over the pure work. "
        )
        + (
            f"With the servers on the same {cpus} CPUs the wall cannot go below {stack_cpu:.2f} / {cpus} = "
            f"{stack_cpu / cpus:.2f} s, i.e. {stack_cpu / cpus / ideal - 1:+.0%} over the ideal, even on an "
            f"otherwise idle machine; the pure work alone could not go below {pure_cpu / cpus:.2f} s "
            f"({pure_cpu / cpus / ideal - 1:+.0%}). "
            if workers >= cpus
            else f"With {workers} worker(s) on {cpus} CPUs, the servers and the decoders' extra threads run on "
            "the CPUs the workers leave free, so the stack's CPU does not bound the wall here. "
        )
        + (
            f"So here wall / ideal = {threads:.2f} (the decoders' threads, which the ideal counts as free) x "
            f"{plumbing:.2f} (the plumbing's CPU) x {packing:.2f} (CPUs left idle, or taken by the rest of the "
            f"machine) = {wall / ideal:.2f}. "
            if workers == cpus
            else ""
        )
        + (
            f"The plumbing is {fixed:.0f} ms of CPU per photo (S3 requests on both ends, five RQ jobs, four SQS "
            "sends, events, SQLite), whatever the photo's size; per photo of each kind here, against its image "
            "work: "
            + ", ".join(f"{KINDS[k]} {ms:.0f} ms, {fixed / ms:+.0%}" for k, ms in per_photo.items())
            + "."
        ),
        "",
        "| process | CPU s | per photo, ms |",
        "| --- | ---: | ---: |",
        *(
            f"| {role} | {sec:.2f} | {sec / len(photos) * 1000:.0f} |"
            for role, sec in sorted(by_role.items(), key=lambda kv: -kv[1])
        ),
        (
            f"| the bench client uploading (not counted above) | {run['client_cpu']:.2f} | "
            f"{run['client_cpu'] / len(photos) * 1000:.0f} |"
        ),
    ]
    return "\n".join(lines)
