"""What a rule's target gets: the event, or its `Input`, `InputPath` or `InputTransformer`, rendered
as EventBridge renders them.

An InputTemplate's `<name>` placeholders take the values of InputPathsMap's JSON paths, and the
predefined `<aws.events.rule-arn>`, `<aws.events.rule-name>`, `<aws.events.event.ingestion-time>`,
`<aws.events.event>` and `<aws.events.event.json>`. In a JSON template a placeholder inside a
string is replaced by the value's text; outside one, by the value as JSON (a string gets its
quotes). A template that is not JSON (plain text, for a queue) gets each value's text.
"""

from __future__ import annotations

import json
import re
from typing import Any

_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


def json_path(document: Any, path: str) -> Any:
    """A value at an EventBridge JSON path (`$`, `$.detail.state`, `$.detail.items[0]`,
    `$.detail['instance-id']`); None when the event has nothing there."""
    if not path.startswith("$"):
        raise ValueError(f"{path!r} is not a JSON path: it starts with $")
    rest, node = path[1:], document
    while rest:
        m = _STEP.match(rest)
        if m is None:
            raise ValueError(f"{path!r}: cannot read {rest!r}; EventBridge paths are $.a.b, $.a[0], $['a-b']")
        key, index, quoted, dquoted = m.groups()
        rest = rest[m.end():]
        if index is not None:
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
        else:
            name = key if key is not None else (quoted if quoted is not None else dquoted)
            node = node.get(name) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


def render(template: str, values: dict[str, Any]) -> str:
    """An InputTemplate with its placeholders replaced (see the module's docstring)."""
    if not template.lstrip().startswith(("{", "[", '"')):
        return _PLACEHOLDER.sub(lambda m: _text(values[m.group(1)]) if m.group(1) in values else m.group(0), template)
    out, in_string, i = [], False, 0
    while i < len(template):
        c = template[i]
        m = _PLACEHOLDER.match(template, i) if c == "<" else None
        if m and m.group(1) in values:
            value = values[m.group(1)]
            out.append(json.dumps(_text(value))[1:-1] if in_string else json.dumps(value))
            i = m.end()
            continue
        if c == '"' and (i == 0 or template[i - 1] != "\\"):
            in_string = not in_string
        out.append(c)
        i += 1
    return "".join(out)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def target_input(event: dict[str, Any], rule_arn: str, rule: str, *, input: str | None = None,
                 input_path: str | None = None, input_paths: dict[str, str] | None = None,
                 input_template: str | None = None) -> str:
    """The text a target gets for `event` (JSON unless a text template says otherwise)."""
    if input is not None:
        return input
    if input_path is not None:
        return json.dumps(json_path(event, input_path))
    if input_template is None:
        return json.dumps(event)
    values: dict[str, Any] = {name: json_path(event, path) for name, path in (input_paths or {}).items()}
    values.update({"aws.events.rule-arn": rule_arn, "aws.events.rule-name": rule,
                   "aws.events.event.ingestion-time": event.get("time"),
                   "aws.events.event": event, "aws.events.event.json": event})
    return render(input_template, values)
