"""The steps that run in the gateway's request path after the API and route are selected and before
the integration: authorizers, API keys and CORS plug in here (their own modules), not in gateway.py.

The interface:

    Step = Callable[[Call], HttpResponse | None]

`gateway.answer` builds one `Call` per request (the API of `template/apimodel.py`, the route, or None
when no route matched, so a CORS step can answer a preflight that has no OPTIONS route; the request;
the path parameters) and runs each step of `create_app(steps=...)` in order; they default to
`default_steps()`. A step

- returns an `HttpResponse` (apigateway/responses.py) to answer now (401, 403, a preflight's 204): the
  integration is not run;
- or returns None to go on, after optionally setting `call.authorizer` (what becomes
  `requestContext.authorizer` in the event: the context of a Lambda authorizer, `{"jwt": {...}}`, or
  `{"lambda": {...}}` on HTTP API 2.0), adding to `call.identity` (merged into
  `requestContext.identity` on payload 1.0: apiKey, apiKeyId ...), and appending to
  `call.response_headers` (added to whatever answer goes out, error answers included: CORS headers).

Steps run for every request to an API, in the order given; the gateway's own answers (no route 403/404,
413, the integration's) come after them. A step needing the function runtime has `call.runtime`
(`Runtime.invoke(name, event, trigger=...)`); to find a Lambda authorizer's function from its ARN, use
`call.runtime.template.functions` by `function_name` (the ARN's `:function:NAME`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lightbox.apigateway.events import HttpRequest
from lightbox.apigateway.responses import HttpResponse
from lightbox.runtime.invoke import Runtime
from lightbox.template.apimodel import Api, Route


@dataclass
class Call:
    runtime: Runtime
    api: Api
    route: Route | None  # None: no route of the API matches (the step may still answer, e.g. a preflight)
    request: HttpRequest
    path_parameters: dict[str, str] = field(default_factory=dict)
    authorizer: dict[str, Any] | None = None  # -> requestContext.authorizer
    identity: dict[str, Any] = field(default_factory=dict)  # merged into requestContext.identity (payload 1.0)
    response_headers: list[tuple[str, str]] = field(default_factory=list)  # added to the answer, errors too
    dropped_headers: tuple[str, ...] = ()  # lower-case name prefixes removed from the integration's answer
    usage_key: str | None = None  # a REST Lambda authorizer's usageIdentifierKey (API keys from the authorizer)
    # run on the answer, whoever made it (gateway responses: headers on API Gateway's own answers)
    finishers: list[Callable[[HttpResponse], None]] = field(default_factory=list)


Step = Callable[[Call], HttpResponse | None]


def default_steps() -> list[Step]:
    """The steps `lightbox up` runs: CORS, authorizers, API keys (access.py)."""
    from lightbox.apigateway.access import Access  # access.py builds on this module's Call

    return Access().steps()
