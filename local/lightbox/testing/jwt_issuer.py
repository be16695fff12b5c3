"""A local OpenID issuer for testing HTTP API JWT authorizers: it serves the discovery document and
its JWKS on a free port, as a real issuer does, and signs tokens with its own RSA key.

    with JwtIssuer() as issuer:
        lightbox up --parameter-overrides Issuer=<issuer.url>
        requests.get(url, headers={"Authorization": f"Bearer {issuer.token(scope='read')}"})
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse


class JwtIssuer:
    def __init__(self, host: str = "127.0.0.1", audience: str = "lightbox", kid: str = "lightbox-1") -> None:
        self.audience, self.kid = audience, kid
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "RS256"}]}
        self._server = make_server(host, 0, self._app, threaded=True)
        self.url = f"http://{host}:{self._server.server_port}"
        self.requests = 0  # how often the gateway fetched discovery or keys
        self._thread = threading.Thread(target=self._server.serve_forever, name="jwt-issuer", daemon=True)

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self.requests += 1
        path = Request(environ).path
        body: dict[str, Any]
        if path == "/.well-known/openid-configuration":
            body = {"issuer": self.url, "jwks_uri": f"{self.url}/jwks.json"}
        elif path == "/jwks.json":
            body = self.jwks
        else:
            return Response("not found", status=404)(environ, start_response)
        return Response(json.dumps(body), mimetype="application/json")(environ, start_response)

    def token(self, expires_in: int = 300, **claims: Any) -> str:
        """A signed access token; claims given override the defaults (None drops one)."""
        now = int(time.time())
        body: dict[str, Any] = {"iss": self.url, "aud": self.audience, "sub": "user-1", "iat": now,
                                "exp": now + expires_in, **claims}
        return jwt.encode({k: v for k, v in body.items() if v is not None}, self._key, algorithm="RS256",
                          headers={"kid": self.kid})

    def start(self) -> JwtIssuer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> JwtIssuer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
