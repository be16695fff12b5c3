"""EventBridge schedules: when each fires, and the scheduled event it sends."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lightbox import config
from lightbox.template.expressions import parse_expression


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


def schedule_event(rule: str = "my-schedule") -> dict[str, Any]:
    """A scheduled event as `sam local generate-event cloudwatch scheduled-event` gives it."""
    arn = f"arn:aws:events:{config.REGION}:{config.ACCOUNT_ID}:rule/{rule}"
    return scheduled_event(arn, config.REGION, config.ACCOUNT_ID, datetime.now(UTC))
