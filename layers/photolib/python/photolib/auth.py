"""Signed, expiring client tokens: who is asking, for every photo and event endpoint.

An itsdangerous URLSafeTimedSerializer token with the salt below, JSON payload {"client_id": ...},
HMAC-SHA1 over the secret in TOKEN_SECRET. Clients send it as `Authorization: Bearer TOKEN`, or as
`?access_token=TOKEN` where they cannot set headers (EventSource).

For development, `python -m photolib.auth issue CLIENT_ID [--secret S]` prints one (secret:
--secret > TOKEN_SECRET > the template's development default).
"""

from __future__ import annotations

import argparse
import os
import sys

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from photolib.config import Settings
from photolib.exceptions import ConfigurationError, Unauthorized
from photolib.models import HttpApiEvent, valid_client_id

SALT = "lightbox.client-token.v1"  # changing it invalidates every token handed out
# template.yaml's TokenSecret default (a test pins the two together); deployments refuse it.
DEV_SECRET = "lightbox-dev-secret-change-me"


def _serializer(secret: str) -> URLSafeTimedSerializer:
    if not secret:
        raise ConfigurationError("TOKEN_SECRET is not set: client tokens cannot be signed or checked")
    return URLSafeTimedSerializer(secret, salt=SALT)


def issue(client_id: str, secret: str) -> str:
    """A token naming client_id; it expires `token_max_age` seconds after now, as the verifier sees it."""
    if not valid_client_id(client_id):
        raise ValueError("client id must be 1-64 characters of A-Z a-z 0-9 _ -")
    return _serializer(secret).dumps({"client_id": client_id})


def verify(token: str, secret: str, max_age: int) -> str:
    """The client id the token names; Unauthorized when it is forged, expired or malformed."""
    try:
        payload = _serializer(secret).loads(token, max_age=max_age)
    except SignatureExpired:
        raise Unauthorized("expired_token", "the token has expired; ask for a new one") from None
    except BadSignature:
        raise Unauthorized("invalid_token", "the token is not valid (bad signature or format)") from None
    client_id = payload.get("client_id") if isinstance(payload, dict) else None
    if not isinstance(client_id, str) or not valid_client_id(client_id):
        raise Unauthorized("invalid_token", "the token names no valid client id")
    return client_id


def token_of(request: HttpApiEvent, query_token: bool = False) -> str | None:
    """The bearer token of the request: the Authorization header, or ?access_token= where the
    route allows it (EventSource cannot set headers; a URL ends up in logs and Referer headers)."""
    scheme, _, value = (request.header("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return (request.queryStringParameters.get("access_token") or None) if query_token else None


def client_of(request: HttpApiEvent, settings: Settings, query_token: bool = False) -> str:
    """The client the request's token names; Unauthorized when there is none or it does not verify."""
    token = token_of(request, query_token)
    if token is None:
        how = "'Authorization: Bearer TOKEN'" + (" or ?access_token=TOKEN" if query_token else "")
        raise Unauthorized("missing_token", f"send a client token: {how}")
    return verify(token, settings.token_secret, settings.token_max_age)


def main(argv: list[str] | None = None) -> int:
    """`python -m photolib.auth issue CLIENT_ID [--secret S]`: a client token for development."""
    parser = argparse.ArgumentParser(prog="python -m photolib.auth", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    issue_cmd = commands.add_parser("issue", help="print a signed token naming CLIENT_ID")
    issue_cmd.add_argument("client_id")
    issue_cmd.add_argument("--secret", help="signing secret (default: TOKEN_SECRET, else the template's default)")
    args = parser.parse_args(argv)
    secret = args.secret or os.environ.get("TOKEN_SECRET") or DEV_SECRET
    try:
        print(issue(args.client_id, secret))
    except ValueError as exc:
        print(f"photolib.auth: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
