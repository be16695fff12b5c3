"""The gateway's access steps (apigateway/hooks.py), in API Gateway's order: CORS preflights (HTTP
APIs answer them before any route or authorizer), the route's authorizer, then its API key. CORS
headers go on every answer to an allowed Origin, errors included; a REST API's gateway responses
(gateway_responses.py) on API Gateway's own answers.

`--disable-authorizer` (as SAM CLI offers it) skips authorizers and API keys; CORS still applies.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any

from lightbox.apigateway.apikeys import ApiKeys
from lightbox.apigateway.authorizer_policy import method_arn
from lightbox.apigateway.authorizers import AuthRequest, LambdaAuthorizers, Refused
from lightbox.apigateway.cors import preflight_headers, response_headers
from lightbox.apigateway.events import EventInput, build_event
from lightbox.apigateway.gateway_responses import GatewayResponse, apply, declared
from lightbox.apigateway.hooks import Call, Step
from lightbox.apigateway.jwt_auth import JwtAuthorizers, KeySets
from lightbox.apigateway.responses import HttpResponse
from lightbox.config import Settings
from lightbox.runtime.invoke import Runtime
from lightbox.template.apimodel import HTTP
from lightbox.template.model import Template

log = logging.getLogger(__name__)
LAMBDA_TYPES = ("TOKEN", "REQUEST")


def answer(refused: Refused) -> HttpResponse:
    return HttpResponse(refused.status, [("Content-Type", "application/json"), *refused.headers], refused.json(),
                        from_gateway=True)


def requires_api_key(template: Template) -> bool:
    return any(r.api_key_required for api in template.apis.values() for r in api.routes)


def api_keys(template: Template) -> ApiKeys:
    resources = ((r.name, r.type, r.properties) for r in template.resources.values())
    return ApiKeys.from_resources(resources, requires_api_key(template))


class Access:
    """Holds what outlives a request (the authorizer result cache, the issuers' keys, the template's API
    keys); a template reload brings new keys and an empty cache."""

    def __init__(self, disable_authorizer: bool = False, jwks: str | None = None) -> None:
        self.disable_authorizer = disable_authorizer
        self.keysets = KeySets(jwks)
        self.jwt = JwtAuthorizers(self.keysets)
        self._lock = threading.Lock()
        self._for: tuple[Template | None, LambdaAuthorizers | None, ApiKeys] = (None, None, ApiKeys())
        self._responses: dict[str, dict[str, GatewayResponse]] = {}

    def _state(self, runtime: Runtime) -> tuple[LambdaAuthorizers, ApiKeys]:
        with self._lock:
            template, lambdas, keys = self._for
            if template is not runtime.template or lambdas is None:
                lambdas, keys = LambdaAuthorizers(runtime), api_keys(runtime.template)
                self._for = (runtime.template, lambdas, keys)
                self._responses = {}
            return lambdas, keys

    def steps(self) -> list[Step]:
        return [self.gateway_responses, self.cors, self.authorize, self.api_key]

    # -- gateway responses (REST) ----------------------------------------------------------
    def gateway_responses(self, call: Call) -> HttpResponse | None:
        if call.api.type == HTTP:
            return None
        self._state(call.runtime)
        api = call.api
        with self._lock:
            found = self._responses.get(api.id)
            if found is None:
                resources = ((r.name, r.type, r.properties) for r in call.runtime.template.resources.values())
                found = self._responses[api.id] = declared(api.name, api.id, resources)
        if found:
            call.finishers.append(lambda out: apply(found, out))
        return None

    # -- CORS ----------------------------------------------------------------------------
    def cors(self, call: Call) -> HttpResponse | None:
        cors, req = call.api.cors, call.request
        # REST APIs have no CORS of their own: SAM's Cors is OPTIONS methods (MOCK), served as routes.
        if cors is None or call.api.type != HTTP:
            return None
        if req.method == "OPTIONS":  # with CORS configured, API Gateway answers every OPTIONS itself
            return HttpResponse(204, preflight_headers(cors, req.headers), b"")
        # HTTP APIs ignore the integration's own CORS headers and send theirs.
        call.dropped_headers = ("access-control-",)
        call.response_headers.extend(response_headers(cors, req.headers, []))
        return None

    # -- authorizers ---------------------------------------------------------------------
    def _request(self, call: Call) -> AuthRequest:
        api, route, req = call.api, call.route, call.request
        assert route is not None
        template = call.runtime.template
        arn = method_arn(template.region, template.account_id, api.id, api.stage or "$default", req.method, req.path)

        def event(version: str) -> dict[str, Any]:
            integration = dataclasses.replace(route.integration, payload_version=version)
            given = EventInput(api, dataclasses.replace(route, integration=integration), call.path_parameters)
            return build_event(req, given, template.account_id)

        return AuthRequest(req.method, req.path, req.headers, req.query, api.stage_variables, arn, event)

    def authorize(self, call: Call) -> HttpResponse | None:
        route = call.route
        if route is None or route.authorizer is None or self.disable_authorizer:
            return None
        auth = call.api.authorizers.get(route.authorizer)
        if auth is None or auth.type not in (*LAMBDA_TYPES, "JWT"):
            return None  # IAM and Cognito: the template's not-emulated line says so
        lambdas, _ = self._state(call.runtime)
        req = self._request(call)
        http = call.api.type == HTTP
        if auth.type == "JWT":
            decision = self.jwt.authorize(auth, req, route.authorization_scopes)
        else:
            decision = lambdas.authorize(auth, http, req, call.api.id)
        if isinstance(decision, Refused):
            log.info("%s %s: authorizer %s refused: %s", call.request.method, call.request.path, auth.name,
                     decision.status)
            return answer(decision)
        call.authorizer = decision.authorizer
        call.usage_key = decision.usage_key
        return None

    # -- API keys ------------------------------------------------------------------------
    def api_key(self, call: Call) -> HttpResponse | None:
        route = call.route
        if route is None or not route.api_key_required or call.api.type == HTTP or self.disable_authorizer:
            return None
        _, keys = self._state(call.runtime)
        from_authorizer = call.api.api_key_source.upper() == "AUTHORIZER"
        refused = keys.check(call.request.headers, call.usage_key, from_authorizer)
        if refused is not None:
            return answer(refused)
        given = call.usage_key if from_authorizer else call.request.header("x-api-key")
        call.identity.update(apiKey=given, apiKeyId=keys.keys.get(str(given), ""))
        return None


def access_steps(settings: Settings) -> list[Step]:
    """The steps with the settings' --disable-authorizer and --jwks."""
    return Access(settings.disable_authorizer, settings.jwks).steps()
