"""API Gateway's route selection over every API of a template, served on one port as `sam local
start-api` serves them, and each also at its own execute-api address with its stage in the path
(`http://{api id}.execute-api.localhost:3000/Prod/...`; *.localhost resolves to this machine).

Within an API: literal segments beat parameters, parameters beat greedy `{proxy+}`, a method beats
ANY, and an HTTP API's `$default` route answers only what nothing else does. Across APIs on one port,
the API whose routes share the longest literal prefix with the path is asked first, so a path one API
owns is never answered by another API's `{proxy+}`; between APIs that tie, the more specific route.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lightbox.template.apimodel import REST, Api, Route, sqs_queue

EXECUTE_API = ".execute-api."


@dataclass(frozen=True)
class Match:
    api: Api
    route: Route | None  # None: the path or method matches no route of the API
    path_parameters: dict[str, str]
    stage_path: str  # "/Prod" when the request came with the stage in its path, else ""


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _literal_prefix(path: str) -> tuple[str, ...]:
    out = []
    for seg in _segments(path):
        if seg.startswith("{"):
            break
        out.append(seg)
    return tuple(out)


def _compile(path: str) -> re.Pattern[str]:
    parts = []
    for seg in _segments(path):
        if m := re.fullmatch(r"\{([\w.-]+)\+\}", seg):
            parts.append(f"(?P<{_group(m.group(1))}>.+)")
        elif m := re.fullmatch(r"\{([\w.-]+)\}", seg):
            parts.append(f"(?P<{_group(m.group(1))}>[^/]+)")
        else:
            parts.append(re.escape(seg))
    return re.compile("^/" + "/".join(parts) + "/?$" if parts else "^/$")


def _group(name: str) -> str:
    # Regex group names are identifiers; API Gateway's parameter names may hold '-' or '.'.
    return "p_" + "".join(c if c.isalnum() or c == "_" else f"_{ord(c):x}_" for c in name)


def _ungroup(group: str) -> str:
    return re.sub(r"_([0-9a-f]+)_", lambda m: chr(int(m.group(1), 16)), group[2:])


def _rank(route: Route) -> tuple[int, int, int, int, bool]:
    segments = _segments(route.path)
    greedy = any(s.endswith("+}") for s in segments)
    literal = sum(1 for s in segments if not s.startswith("{"))
    return (int(route.default), int(greedy), -literal, -len(segments), route.method == "ANY")


class ApiRoutes:
    """One API's routes, most specific first."""

    def __init__(self, api: Api) -> None:
        self.api = api
        ordered = sorted(api.routes, key=_rank)
        self.routes = [(_compile(r.path), r) for r in ordered]
        self.prefixes = {_literal_prefix(r.path) for r in api.routes}

    def prefix_length(self, segments: tuple[str, ...]) -> int:
        """The longest literal prefix of a route that the path starts with (-1: none does)."""
        return max((len(p) for p in self.prefixes if segments[:len(p)] == p), default=-1)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for pattern, route in self.routes:
            m = pattern.match(path)
            if m and route.method in (method, "ANY"):
                return route, {_ungroup(k): v for k, v in m.groupdict().items()}
        return None


class RouteTable:
    def __init__(self, apis: Iterable[Api]) -> None:
        # A root stack's API is asked before a child stack's: it wins a route both declare (as SAM CLI merges).
        self.apis = sorted((ApiRoutes(a) for a in apis), key=lambda a: a.api.name.count("/"))
        self.by_host = {a.api.id.lower(): a for a in self.apis}

    def select(self, method: str, path: str, host: str = "") -> Match | None:
        """The API and route a request reaches; None when the template has no API at all."""
        if EXECUTE_API in host:
            own = self.by_host.get(host.split(".", 1)[0].lower())
            if own is not None:
                return self._at_stage(own, method, path)
        if not self.apis:
            return None
        if len(self.apis) == 1:
            only = self.apis[0]
            found = only.match(method, path)
            return Match(only.api, found[0] if found else None, found[1] if found else {}, "")
        segments = tuple(_segments(path))
        scored = [(a.prefix_length(segments), a) for a in self.apis]
        best = max(s for s, _ in scored)
        candidates = [a for s, a in scored if s == best]
        # APIs that claim the path alike: the most specific route wins (a method over ANY), as within an
        # API; on a full tie, the API asked first.
        matched = [(routes, found) for routes in candidates if (found := routes.match(method, path)) is not None]
        if matched:
            routes, found = min(matched, key=lambda m: _rank(m[1][0]))
            return Match(routes.api, found[0], found[1], "")
        if best < 0:  # a path no API claims: a REST API's 403, as `sam local start-api` answers on one port
            candidates.sort(key=lambda a: a.api.type != REST)
        return Match(candidates[0].api, None, {}, "")

    @staticmethod
    def _at_stage(routes: ApiRoutes, method: str, path: str) -> Match:
        base = routes.api.base_path
        if base and not (path == base or path.startswith(base + "/")):
            return Match(routes.api, None, {}, base)
        inner = path[len(base):] or "/"
        found = routes.match(method, inner)
        return Match(routes.api, found[0] if found else None, found[1] if found else {}, base)


def execute_api_url(api: Api, url: str) -> str:
    """The API's own address, as AWS's `https://{id}.execute-api.{region}.amazonaws.com/{stage}`."""
    scheme, _, host = url.partition("://")
    port = host.rsplit(":", 1)[1] if ":" in host else ""
    return f"{scheme}://{api.id.lower()}{EXECUTE_API}localhost{':' + port if port else ''}{api.base_path}"


def api_lines(apis: Iterable[Api], url: str) -> list[str]:
    """What `up` prints per API: its type, stage and two addresses, then each route and where it goes."""
    lines = []
    for api in apis:
        lines.append(f"    {api.name} ({api.type} API, stage {api.stage}): {url}  or {execute_api_url(api, url)}")
        for route in sorted(api.routes, key=_rank):
            queue = sqs_queue(route.integration)
            target = route.function or (f"SQS {queue}" if queue else route.integration.type)
            lines.append(f"      {route.method:7} {url}{route.path if not route.default else ' $default'}  -> {target}")
    return lines
