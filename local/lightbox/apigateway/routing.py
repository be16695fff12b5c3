"""API Gateway's route selection: which function a method and path reach."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lightbox.template.model import Function, HttpRoute


@dataclass(frozen=True)
class Match:
    function: Function
    route: HttpRoute
    path_parameters: dict[str, str]


class RouteTable:
    """Most specific route first, as API Gateway chooses: literal segments beat parameters,
    parameters beat greedy `{proxy+}`, and an exact method beats ANY."""

    def __init__(self, routes: Iterable[tuple[Function, HttpRoute]]) -> None:
        compiled = [(self._compile(r.path), f, r) for f, r in routes]
        compiled.sort(key=lambda c: self._rank(c[2]))
        self._routes = compiled

    @staticmethod
    def _rank(route: HttpRoute) -> tuple[int, int, int, bool]:
        segments = [s for s in route.path.split("/") if s]
        greedy = any(s.endswith("+}") for s in segments)
        literal = sum(1 for s in segments if not s.startswith("{"))
        return (int(greedy), -literal, -len(segments), route.method == "ANY")

    @staticmethod
    def _compile(path: str) -> re.Pattern[str]:
        parts = []
        for seg in path.strip("/").split("/"):
            if m := re.fullmatch(r"\{(\w+)\+\}", seg):
                parts.append(f"(?P<{m.group(1)}>.+)")
            elif m := re.fullmatch(r"\{(\w+)\}", seg):
                parts.append(f"(?P<{m.group(1)}>[^/]+)")
            else:
                parts.append(re.escape(seg))
        return re.compile("^/" + "/".join(parts) + "/?$" if parts != [""] else "^/$")

    def match(self, method: str, path: str) -> Match | str | None:
        """The match, None when no route has the path, or "method" when only the method is wrong."""
        path_found = False
        for pattern, fn, route in self._routes:
            m = pattern.match(path)
            if not m:
                continue
            path_found = True
            if route.method in (method, "ANY"):
                return Match(fn, route, {k: v for k, v in m.groupdict().items()})
        return "method" if path_found else None
