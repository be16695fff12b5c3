"""A small Server-Sent Events reader over requests, following the HTML spec's parsing rules for
the fields these tests use (id, event, data, comments)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import requests


@dataclass
class Message:
    id: str | None
    event: str
    data: str
    comment: str | None = None


def messages(resp: requests.Response) -> Iterator[Message]:
    """Each dispatched message, and each comment line as a Message with `comment` set."""
    last_id: str | None = None
    event, data = "", []
    for raw in resp.iter_lines(decode_unicode=True, chunk_size=1):
        line = raw or ""
        if not line:
            if data:
                yield Message(last_id, event or "message", "\n".join(data))
            event, data = "", []
            continue
        if line.startswith(":"):
            yield Message(last_id, "", "", comment=line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            last_id = value
        elif name == "event":
            event = value
        elif name == "data":
            data.append(value)
