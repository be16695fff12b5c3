"""Noticing that a template changed: every file it was read from (child stacks, included files,
definition files, zipped code) is watched by size and modification time."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class TemplateWatch:
    def __init__(self, files: Iterable[Path]) -> None:
        self.files = tuple(dict.fromkeys(files))
        self._seen = self._stat()

    def _stat(self) -> dict[Path, tuple[int, int] | None]:
        found: dict[Path, tuple[int, int] | None] = {}
        for path in self.files:
            try:
                st = path.stat()
            except OSError:
                found[path] = None  # deleted: a change too
                continue
            found[path] = (st.st_mtime_ns, st.st_size)
        return found

    def changed(self) -> bool:
        """True once per change (a save, a delete) of any watched file."""
        now = self._stat()
        if now == self._seen:
            return False
        self._seen = now
        return True
