"""A function whose CodeUri names this file alone: Lambda gets a zip holding just it."""

from __future__ import annotations

import os


def handler(event, context):
    siblings = sorted(os.listdir(os.path.dirname(__file__)))
    return {"form": "file", "siblings": siblings}
