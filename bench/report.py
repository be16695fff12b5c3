"""Write one benchmark's table into docs/benchmarks.md, leaving the other benchmarks' sections alone."""

from __future__ import annotations

import re
from pathlib import Path

REPORT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\nWritten by the scripts in `bench/`; each owns one `##` section and rewrites only that.\n"
)


def write_section(title: str, markdown: str, path: Path = REPORT) -> None:
    """Replace the ``## {title}`` section of the report with ``markdown``, or append it if absent."""
    section = f"## {title}\n\n{markdown.strip()}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    # The section runs from its heading to the next "## " heading or the end of the file.
    pattern = re.compile(rf"^## {re.escape(title)}[ \t]*\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: section + "\n", text, count=1).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
