"""EventBridge schedule expressions: `rate(5 minutes)` and six-field `cron(...)`."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


def _cron_fields(body: str) -> str:
    """AWS cron has a year field, `?` and days of week 1-7 from Sunday; croniter has none of that."""
    fields = body.split()
    if len(fields) != 6:
        raise ValueError(f"cron({body}) needs 6 fields: minutes hours day-of-month month day-of-week year")
    minute, hour, dom, month, dow, _year = fields
    dow = re.sub(r"\d", lambda m: str((int(m.group()) - 1) % 7), dow) if dow != "?" else "*"
    expr = " ".join([minute, hour, "*" if dom == "?" else dom, month, dow])
    if not croniter.is_valid(expr):
        raise ValueError(f"cron({body}) is not a valid expression")
    return expr


def parse_expression(expression: str) -> Callable[[datetime], datetime]:
    """Return next(after) for the expression, or raise ValueError naming what is accepted."""
    expression = expression.strip()
    if m := _RATE.match(expression):
        value, unit = int(m.group(1)), m.group(2).rstrip("s")
        if value < 1 or (value == 1) != (not m.group(2).endswith("s")):
            raise ValueError(f"{expression}: AWS wants rate(1 {unit}) or rate(N {unit}s) with N > 1")
        step = timedelta(seconds=value * _UNITS[unit])
        return lambda after: after + step
    if m := _CRON.match(expression):
        expr = _cron_fields(m.group(1))
        return lambda after: croniter(expr, after).get_next(datetime)
    raise ValueError(f"{expression!r}: expected rate(N unit) or cron(m h dom mon dow year)")


def scheduled_event(rule_arn: str, region: str, account_id: str, when: datetime) -> dict[str, Any]:
    """The EventBridge 'Scheduled Event' a Schedule-triggered function receives."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


class Scheduler:
    """Fires each schedule on time in a background thread; `fire` decides how to deliver."""

    def __init__(self, entries: list[tuple[str, str]], fire: Callable[[str, datetime], None],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._fire = fire
        now = clock()
        self._next = [(key, parse_expression(expr), parse_expression(expr)(now)) for key, expr in entries]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lightbox-scheduler", daemon=True)

    def start(self) -> None:
        if self._next:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def tick(self) -> float:
        """Fire what is due; return seconds until the next one is due."""
        now = self._clock()
        for i, (key, nxt, due) in enumerate(self._next):
            if due <= now:
                self._fire(key, due)
                self._next[i] = (key, nxt, nxt(now))
        return max(0.05, min((due - now).total_seconds() for _, _, due in self._next))

    def _run(self) -> None:
        while not self._stop.wait(min(self.tick(), 1.0)):
            pass
