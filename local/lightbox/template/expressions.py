"""EventBridge schedule expressions as templates write them: `rate(5 minutes)`, six-field `cron(...)`,
and Scheduler's one-time `at(2025-01-31T09:30:00)`."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from croniter import croniter

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
NEVER = datetime.max.replace(tzinfo=UTC)  # what a one-time schedule's next time is once it has fired
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
    if m := _AT.match(expression):  # in UTC here: ScheduleExpressionTimezone is not applied (a line says so)
        when = datetime.fromisoformat(m.group(1)).replace(tzinfo=UTC)
        return lambda after: when if when > after else NEVER
    if expression.startswith("at("):
        raise ValueError(f"{expression!r}: expected at(yyyy-mm-ddThh:mm:ss)")
    raise ValueError(f"{expression!r}: expected rate(N unit) or cron(m h dom mon dow year)")
