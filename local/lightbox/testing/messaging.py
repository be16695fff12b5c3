"""`lightbox.sns` and `lightbox.events` in tests: publish to a template's topic, put an event on a bus,
delivered by the same code as under `lightbox up` (sns/delivery.py, eventbridge/bus.py), without the
moto server's hand-over in between."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lightbox.eventbridge import bus
from lightbox.sns import delivery
from lightbox.sns.notifications import Published
from lightbox.sqs.queues import Broker


class Topics:
    def __init__(self, broker: Broker, drain: Callable[[], None]) -> None:
        self._broker, self._drain = broker, drain

    def publish(self, topic: str, message: str | dict[str, Any], subject: str | None = None,
                attributes: dict[str, str | int | float] | None = None, run: bool = True) -> str:
        """Publish to the topic (by name); its subscribers' filter policies apply; returns the MessageId.
        Numbers among the attributes are SNS Number attributes, the rest String."""
        t = self._broker.template
        now = datetime.now(UTC)
        attrs = {k: {"Type": "String" if isinstance(v, str) else "Number", "Value": str(v)}
                 for k, v in (attributes or {}).items()}
        p = Published(f"arn:aws:sns:{t.region}:{t.account_id}:{topic}", str(uuid.uuid4()),
                      message if isinstance(message, str) else json.dumps(message),
                      now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z", subject, attrs or None)
        delivery.deliver(self._broker, [p])
        if run:
            self._drain()
        return p.message_id


class Buses:
    def __init__(self, broker: Broker, drain: Callable[[], None]) -> None:
        self._broker, self._drain = broker, drain

    def put(self, source: str, detail_type: str, detail: dict[str, Any] | None = None, bus_name: str = "default",
            resources: list[str] | None = None, run: bool = True) -> str:
        """Put one event on the bus; the rules whose pattern matches deliver it; returns its id."""
        event_id = str(uuid.uuid4())
        entry = {"EventId": event_id, "Source": source, "DetailType": detail_type,
                 "Detail": json.dumps(detail or {}), "EventBusName": bus_name, "Resources": resources or [],
                 "Time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        bus.deliver(self._broker, [entry])
        if run:
            self._drain()
        return event_id
