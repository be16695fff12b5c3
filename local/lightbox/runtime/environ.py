"""os.environ scoped to one invocation: each function sees its own variables."""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from lightbox.config import function_overlay

_overlay: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("lightbox_env", default=None)


class ScopedEnviron(MutableMapping[str, str]):
    """os.environ whose reads and writes see a per-invocation overlay when one is active.

    Lambda gives each function its own process environment; here many functions share one
    process and run on threads, so the overlay lives in a ContextVar instead of the process.
    """

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self._base = base

    def _view(self) -> Mapping[str, str]:
        overlay = _overlay.get()
        return self._base if overlay is None else overlay

    def __getitem__(self, key: str) -> str:
        return self._view()[key]

    def __setitem__(self, key: str, value: str) -> None:
        overlay = _overlay.get()
        if overlay is None:
            self._base[key] = value
        else:
            overlay[key] = value

    def __delitem__(self, key: str) -> None:
        overlay = _overlay.get()
        del (self._base if overlay is None else overlay)[key]

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._view()))

    def __len__(self) -> int:
        return len(self._view())

    def copy(self) -> dict[str, str]:
        return dict(self._view())

    # os._Environ API that libraries call directly
    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)


def install_scoped_environ() -> None:
    """Replace os.environ once per process (idempotent)."""
    if not isinstance(os.environ, ScopedEnviron):
        os.environ = ScopedEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003 - on purpose


@contextmanager
def function_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Within the block (this thread/context only), os.environ is the base plus `variables`, without
    the user's AWS profile selection (config.function_overlay)."""
    install_scoped_environ()
    base = os.environ._base if isinstance(os.environ, ScopedEnviron) else os.environ
    token = _overlay.set(function_overlay(base, variables))
    try:
        yield
    finally:
        _overlay.reset(token)
