"""Holds its environment until the file the event names exists (a test's gate, no clocks)."""

import os
import time


def handler(event, context):
    gate = (event.get("queryStringParameters") or event).get("gate") if isinstance(event, dict) else None
    while gate and not os.path.exists(gate) and context.get_remaining_time_in_millis() > 100:
        time.sleep(0.01)
    return {"pid": os.getpid(), "gate_open": bool(gate and os.path.exists(gate))}
