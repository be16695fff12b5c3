"""Warm HTTP invoke through `lightbox up`, against the same handler behind a bare Flask route and behind
serverless-offline, in one run.

    .venv/bin/python bench/bench_http_invoke.py [--rounds 1000] [--quick] [--no-write]

One trivial Python handler (bench/apps/invoke/fn/app.py, behind an HttpApi route GET /ping) served by
four real server processes on loopback:
  - `lightbox up` on bench/apps/invoke/template.yaml: the function in its execution environment;
  - the same `lightbox up` with LIGHTBOX_ISOLATION=thread: the handler on a thread of the gateway (the
    model environments replaced);
  - a bare Flask route calling the handler (on the gateway's own keep-alive server): baseline;
  - serverless-offline 13 (serverless 3, `npm install`ed once into ~/.cache/lightbox-bench): skipped with
    a line when node/npm is missing or the install fails.
One keep-alive `requests.Session` per target (every server keeps the connection); every round sends one
GET to each, in a rotated order, so
the machine's load lands on all alike. Warm-up rounds first (cold starts, connections) are not counted.
Prints markdown and writes it to docs/benchmarks.md under "## Warm HTTP invoke". No timed assertions.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests

from bench import http_targets
from bench.report import write_section
from bench.timing import load_note, percentile

TITLE = "Warm HTTP invoke"
COMMAND = ".venv/bin/python bench/bench_http_invoke.py"
ENVIRONMENTS = "lightbox up (execution environment)"
THREADS = "lightbox up, LIGHTBOX_ISOLATION=thread"
FLASK = "bare Flask route (baseline)"
OFFLINE = "serverless-offline 13"


def measure(urls: dict[str, str], rounds: int, warmup: int) -> tuple[dict[str, list[float]], dict[str, str]]:
    """ms per GET for each target, rounds interleaved; and the Connection header each answered with."""
    sessions = {name: requests.Session() for name in urls}
    times: dict[str, list[float]] = {name: [] for name in urls}
    connection: dict[str, str] = {}
    names = list(urls)
    try:
        for i in range(warmup + rounds):
            order = names[i % len(names):] + names[:i % len(names)]
            for name in order:
                started = time.perf_counter_ns()
                response = sessions[name].get(urls[name], timeout=10)
                took = time.perf_counter_ns() - started
                if response.status_code != 200 or response.json() != {"pong": True}:
                    raise RuntimeError(f"{name} answered {response.status_code}: {response.text[:200]}")
                connection[name] = response.headers.get("Connection", "keep-alive (HTTP/1.1 default)")
                if i >= warmup:
                    times[name].append(took / 1e6)
    finally:
        for session in sessions.values():
            session.close()
    return times, connection


def alone(urls: dict[str, str], blocks: int, per_block: int) -> dict[str, list[float]]:
    """ms per GET with one server busy at a time: blocks of back-to-back GETs, the targets taking turns
    block by block (the machine's drift lands on all alike)."""
    sessions = {name: requests.Session() for name in urls}
    times: dict[str, list[float]] = {name: [] for name in urls}
    try:
        for _ in range(blocks):
            for name, url in urls.items():
                for _ in range(per_block):
                    started = time.perf_counter_ns()
                    sessions[name].get(url, timeout=10).raise_for_status()
                    times[name].append((time.perf_counter_ns() - started) / 1e6)
    finally:
        for session in sessions.values():
            session.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000, help="timed rounds (one GET per target each)")
    parser.add_argument("--quick", action="store_true", help="200 rounds")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    rounds = 200 if args.quick else args.rounds
    cli, skipped = http_targets.serverless_install()
    if cli is None:
        print(f"serverless-offline: skipped ({skipped}); the other rows are measured")
    with tempfile.TemporaryDirectory(prefix="lightbox-bench-http-") as tmp_name:
        tmp = Path(tmp_name)
        servers = []
        try:
            servers.append(http_targets.lightbox_up(tmp / "environments", "process"))
            servers.append(http_targets.lightbox_up(tmp / "threads", "thread"))
            servers.append(http_targets.bare_flask(tmp))
            if cli is not None:
                servers.append(http_targets.serverless_offline(tmp, cli))
            urls = dict(zip([ENVIRONMENTS, THREADS, FLASK, OFFLINE], [s.url for s in servers], strict=False))
            times, connection = measure(urls, rounds, warmup=100)
            head_to_head = {name: urls[name] for name in (ENVIRONMENTS, OFFLINE) if name in urls}
            one_at_a_time = alone(head_to_head, blocks=10, per_block=rounds // 5) if OFFLINE in urls else {}
            load = load_note()
        finally:
            for server in servers:
                server.stop()
    text = report(times, connection, rounds, load, skipped, one_at_a_time)
    print(text)
    if not args.no_write:
        write_section(TITLE, text)
        print(f"\nwritten to docs/benchmarks.md under '## {TITLE}'")


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(times: dict[str, list[float]], connection: dict[str, str], rounds: int, load: str, skipped: str,
           one_at_a_time: dict[str, list[float]]) -> str:
    base = percentile(times[FLASK], 50)
    lines = [
        f"`{COMMAND}`. One trivial Python handler (bench/apps/invoke) behind GET /ping, four real server processes "
        f"on loopback (the bare Flask route on the gateway's own keep-alive server), one keep-alive "
        f"`requests.Session` per row, {rounds} rounds of one GET per row in a rotated "
        f"order after 100 warm-up rounds; {platform.machine()}, Python {platform.python_version()}, {load} at the "
        f"end of the run, {time.strftime('%Y-%m-%d', time.gmtime())}.",
        "",
        "| target | p50 ms | p95 ms | p99 ms | vs bare Flask at p50 | ratio | Connection |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, values in times.items():
        mid = percentile(values, 50)
        lines.append(f"| {name} | {mid:.2f} | {percentile(values, 95):.2f} | {percentile(values, 99):.2f} | "
                     f"{mid - base:+.2f} ms | {mid / base:.2f}x | {connection[name]} |")
    ours = percentile(times[ENVIRONMENTS], 50)
    lines += ["", f"Target: at most +1.5 ms over bare Flask at p50: {verdict(ours - base <= 1.5)} "
              f"({ours - base:+.2f} ms)."]
    if OFFLINE in times:
        theirs = percentile(times[OFFLINE], 50)
        lines[-1] += (f" Target: not slower than serverless-offline at p50: {verdict(ours <= theirs)} "
                      f"({ours:.2f} vs {theirs:.2f} ms, {ours / theirs:.2f}x).")
    else:
        lines[-1] += f" serverless-offline: not measured ({skipped})."
    if one_at_a_time:
        ours_alone, theirs_alone = (percentile(one_at_a_time[name], 50) for name in (ENVIRONMENTS, OFFLINE))
        count = len(one_at_a_time[ENVIRONMENTS])
        lines += ["", f"The same two servers one at a time, after the rounds above: {count} back-to-back GETs each, "
                  f"in 10 blocks taking turns. p50: lightbox up {ours_alone:.2f} ms, serverless-offline "
                  f"{theirs_alone:.2f} ms ({ours_alone / theirs_alone:.2f}x). The target is read on the rounds "
                  f"above, where the machine's load lands on every row alike."]
    closed = [name for name, value in connection.items() if value.lower() == "close"]
    if closed:
        lines += ["", f"{', '.join(closed)} answered `Connection: close`: a loopback connect per request."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
