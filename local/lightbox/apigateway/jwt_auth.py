"""HTTP API JWT authorizers, checked as API Gateway checks them (pyjwt does the cryptography).

The token comes from the identity source (`$request.header.Authorization`, a `Bearer ` prefix
dropped). API Gateway finds the signing keys at the issuer's OpenID discovery document
(`{issuer}/.well-known/openid-configuration` -> `jwks_uri`); locally `LIGHTBOX_JWKS` (a URL or a
JWKS file) may give them instead, for an issuer that is not reachable from the laptop. Checked:
the signature with the key the token's `kid` names, `iss` (the configured issuer), `aud` or
`client_id` (one of the configured audiences), `exp`, `nbf`, `iat`, and the route's scopes
(`scope`/`scp`, any one of them). Claims reach the function in `requestContext.authorizer.jwt`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import jwt

from lightbox.apigateway.authorizers import FORBIDDEN, Allowed, AuthRequest, Refused, identity_sources, identity_value
from lightbox.template.apimodel import Authorizer

_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]  # API Gateway takes asymmetric keys only
_DISCOVERY_TIMEOUT = 5.0


def _unauthorized(description: str) -> Refused:
    return Refused(401, {"message": "Unauthorized"},
                   (("www-authenticate", f'Bearer scope="" error="invalid_token" error_description="{description}"'),))


def _stringified(value: Any) -> str:
    """API Gateway passes claims as strings; an array looks like `[a b]`."""
    if isinstance(value, list):
        return "[" + " ".join(_stringified(v) for v in value) + "]"
    if isinstance(value, bool):
        return json.dumps(value)
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, dict) else str(value)


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    scope = claims.get("scope", claims.get("scp"))
    if isinstance(scope, str):
        return scope.split()
    return [str(s) for s in scope] if isinstance(scope, list) else []


class KeySets:
    """The signing keys per issuer (or per the configured JWKS), fetched once and again on an unknown kid."""

    def __init__(self, jwks: str | None = None) -> None:
        self.jwks = jwks
        self._sets: dict[str, jwt.PyJWKSet] = {}
        self._lock = threading.Lock()

    def _location(self, issuer: str) -> str:
        if self.jwks:
            return self.jwks
        with urlopen(issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=_DISCOVERY_TIMEOUT) as r:
            return str(json.load(r)["jwks_uri"])

    def _load(self, issuer: str) -> jwt.PyJWKSet:
        where = self._location(issuer)
        if where.startswith(("http://", "https://")):
            with urlopen(where, timeout=_DISCOVERY_TIMEOUT) as r:
                text = r.read().decode()
        else:
            text = Path(where.removeprefix("file://")).read_text()
        return jwt.PyJWKSet.from_json(text)

    def key(self, issuer: str, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            for fresh in (False, True):
                if fresh or issuer not in self._sets:
                    self._sets[issuer] = self._load(issuer)
                found = next((k for k in self._sets[issuer].keys if k.key_id == kid), None)
                if found is not None:
                    return found
        return None


class JwtAuthorizers:
    def __init__(self, keys: KeySets) -> None:
        self.keys = keys

    def authorize(self, auth: Authorizer, req: AuthRequest, scopes: tuple[str, ...] = ()) -> Allowed | Refused:
        raw = identity_value(identity_sources(auth)[0], req)
        if not raw:
            return _unauthorized("no token")
        token = raw[7:].strip() if raw[:7].lower() == "bearer " else raw.strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return _unauthorized("the token is not a JWT")
        if not auth.jwt_issuer or not header.get("kid"):
            return _unauthorized("the token has no kid" if auth.jwt_issuer else "no issuer is configured")
        try:
            key = self.keys.key(auth.jwt_issuer, str(header["kid"]))
        except (OSError, ValueError, KeyError, jwt.PyJWTError):
            return Refused(500, {"message": "Internal Server Error"})  # the issuer's keys could not be read
        if key is None:
            return _unauthorized("no signing key matches the token's kid")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=_ALGORITHMS, issuer=auth.jwt_issuer,
                options={"verify_aud": False, "require": ["exp", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            return _unauthorized("the token has expired")
        except jwt.PyJWTError as exc:
            return _unauthorized(str(exc).replace('"', "'"))
        audiences = claims.get("aud", claims.get("client_id"))
        given = audiences if isinstance(audiences, list) else [audiences]
        if auth.jwt_audience and not any(a in auth.jwt_audience for a in given):
            return _unauthorized("the token does not have a valid audience")
        held = token_scopes(claims)
        if scopes and not any(s in held for s in scopes):
            return Refused(FORBIDDEN.status, FORBIDDEN.body,
                           (("www-authenticate", f'Bearer scope="{" ".join(scopes)}" error="insufficient_scope" '
                                                 'error_description="expected scopes: ' + " ".join(scopes) + '"'),))
        return Allowed({"jwt": {"claims": {k: _stringified(v) for k, v in claims.items()},
                                "scopes": held or None}})
