"""`lightbox token CLIENT_ID`: a client token for development, in the format the app verifies.

The emulator never imports the app, so the format is written down here as a contract: an
itsdangerous URLSafeTimedSerializer token, salt "lightbox.client-token.v1", JSON payload
{"client_id": CLIENT_ID}, signed with the secret the functions get in TOKEN_SECRET.
tests/unit/photolib/test_auth.py proves the app accepts what this module prints.

Secret precedence, once: --secret > TOKEN_SECRET in this environment > the TOKEN_SECRET the
template gives its functions (parameters resolved with --parameter-overrides, else defaults).
"""

from __future__ import annotations

import os
import re

from itsdangerous import URLSafeTimedSerializer

from local.exceptions import LightboxError
from local.model import Template

SALT = "lightbox.client-token.v1"
SECRET_VAR = "TOKEN_SECRET"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # client ids become parts of object keys


def secret_from(template: Template | None, given: str | None = None) -> str:
    if given:
        return given
    if os.environ.get(SECRET_VAR):
        return os.environ[SECRET_VAR]
    for fn in (template.functions.values() if template else ()):
        if fn.environment.get(SECRET_VAR):
            return fn.environment[SECRET_VAR]
    raise LightboxError(f"no token secret: set {SECRET_VAR}, pass --secret, or give the template's functions "
                        f"a {SECRET_VAR} variable")


def issue(client_id: str, secret: str) -> str:
    if not _CLIENT_ID.match(client_id):
        raise LightboxError(f"client id {client_id!r}: use 1-64 characters of A-Z a-z 0-9 _ -")
    return URLSafeTimedSerializer(secret, salt=SALT).dumps({"client_id": client_id})
