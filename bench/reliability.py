"""Every fault and bad input the reliability tests try, run larger, counted into docs/reliability.md.

    .venv/bin/python bench/reliability.py [--photos 500] [--clients 10]

Each scenario gets its own running photo app (api under gunicorn, `lightbox worker` processes,
a redis-server with AOF, one S3 server behind a proxy that can fail, one SQLite file), as
tests/integration/photo_stack.py starts it. The table counts, per scenario: photos in, refused at
the API with a 4xx, completed (with every derivative), failed with a reason, and lost (must be 0).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "integration"), str(ROOT / "layers" / "photolib" / "python")]
for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1"}.items():
    os.environ.setdefault(name, value)

from bad_inputs import bad_inputs, try_bad_inputs
from photo_stack import PhotoStack
from reliability_scenarios import (
    Outcome,
    events_duplicated_and_lost,
    load_with_kills,
    redis_restarted,
    s3_down,
    s3_down_past_every_retry,
    sqlite_locked,
    stage_fault,
    stage_fault_env,
    worker_killed_mid_stage,
)

from lightbox.services.processes import start_s3

REPORT = ROOT / "docs" / "reliability.md"
COLUMNS = ["fault or input", "photos in", "refused (4xx)", "completed", "failed, with a reason", "lost", "notes"]


def _first(result: Any) -> Outcome:
    return result[0] if isinstance(result, tuple) else result


def run(photos: int, clients: int) -> tuple[list[Outcome], Outcome, dict[str, Any]]:
    s3 = start_s3()
    outcomes: list[Outcome] = []
    bad: Outcome | None = None
    load_facts: dict[str, Any] = {}
    plan: list[tuple[str, int, Callable[[PhotoStack], Any]]] = [
        ("kill", 2, lambda s: worker_killed_mid_stage(s, photos=8)),
        ("redis", 2, lambda s: redis_restarted(s, photos=40)),
        ("s3", 2, lambda s: s3_down(s, photos=30, seconds=5)),
        ("s3-long", 2, lambda s: s3_down_past_every_retry(s, photos=20, seconds=16)),
        ("events", 2, lambda s: events_duplicated_and_lost(s, photos=30)),
        ("sqlite", 2, lambda s: sqlite_locked(s, photos=30, seconds=3)),
        ("sqlite-long", 2, lambda s: sqlite_locked(s, photos=30, seconds=12)),
        ("bad", 2, lambda s: try_bad_inputs(s, bad_inputs())),
        ("stage-crash", 2, lambda s: stage_fault(s, "crash", photos=10)),
        ("stage-loop", 2, lambda s: stage_fault(s, "loop", photos=4)),
        ("load", 3, lambda s: load_with_kills(s, photos=photos, clients=clients, kill_every=0.7)),
    ]
    try:
        for name, workers, scenario in plan:
            started = time.monotonic()
            with tempfile.TemporaryDirectory(prefix=f"lightbox-reliability-{name}-") as tmp:
                stack = PhotoStack.start(Path(tmp), s3.url, workers=workers,
                                         parameters="MaxReceiveCount=1" if name == "s3-long" else "",
                                         env=stage_fault_env(name.removeprefix("stage-"))
                                         if name.startswith("stage-") else None)
                try:
                    result = scenario(stack)
                finally:
                    stack.stop()
            outcome = _first(result)
            if name == "bad":
                bad = outcome
            if name == "load":
                load_facts = result[1]
            outcomes.append(outcome)
            print(f"{outcome.scenario}: in {outcome.photos_in}, refused {outcome.refused}, completed "
                  f"{outcome.completed}, failed {outcome.failed}, lost {outcome.lost} "
                  f"({time.monotonic() - started:.0f} s)", flush=True)
    finally:
        s3.stop()
    assert bad is not None
    return outcomes, bad, load_facts


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def render(outcomes: list[Outcome], bad: Outcome, facts: dict[str, Any]) -> str:
    total = Outcome("**total**")
    for o in outcomes:
        total.photos_in += o.photos_in
        total.refused += o.refused
        total.completed += o.completed
        total.failed += o.failed
        total.lost += o.lost
    inputs = {b.name: b for b in bad_inputs()}
    bad_rows = [[name, inputs[name].content_type, told] for name, told in bad.detail.items() if name in inputs]
    return f"""# Reliability

Written by `.venv/bin/python bench/reliability.py` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC); the
same scenarios run smaller in `tests/integration/test_reliability_*.py`.

Each row ran against its own photo app as separate processes: the api under gunicorn,
`lightbox worker` processes, a redis-server with AOF, an S3 server (moto) behind a proxy that
can be taken down, and one SQLite file. The test plays the clients and MinIO's webhook.
A photo counts as completed only with all five derivatives, four stage results and no extra
blob; as failed only with a reason; anything else is lost.

{_table(COLUMNS, [o.row() for o in [*outcomes, total]])}

Load run: {facts['kills']} worker processes SIGKILLed at random. Dead-letter queues: the
{len(facts['transient_failures'])} photo(s) failed for transient reasons
(all in it: {facts['transient_failures'] <= facts['dlq']}), plus {len(facts['dlq'] - facts['transient_failures'])}
job(s) whose last receive was killed, their photos left unfinished until reconcile resumed them
(nothing else: {facts['dlq'] <= facts['transient_failures'] | facts['unfinished']}). Jobs left waiting,
taken, started or scheduled: {facts['unsettled'] or 0}. Reconcile's closing run:
{facts['resumed'] or 'nothing to repair'}.

## Bad input, one by one

What the client was told (a 4xx body, or the photo's failure reason), or how it ended.

{_table(["input", "declared type", "outcome"], bad_rows)}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=500, help="photos in the load run (default 500)")
    parser.add_argument("--clients", type=int, default=10, help="concurrent clients in the load run (default 10)")
    parser.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args()
    outcomes, bad, facts = run(args.photos, args.clients)
    args.out.write_text(render(outcomes, bad, facts), encoding="utf-8")
    print(f"wrote {args.out}")
    return 1 if any(o.lost for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
