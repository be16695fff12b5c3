"""What the HTTP functions share: an error a handler raises to answer with, and JSON responses
in API Gateway's shape (payload 2.0)."""

from __future__ import annotations

import json
from typing import Any

Response = dict[str, Any]


class ApiError(Exception):
    """Answer with this status and a JSON body {"error": {"code", "message"}}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        # RFC 6750: a 401 names the scheme the client should use.
        headers = {"www-authenticate": "Bearer"} if self.status == 401 else None
        return json_response(self.status, {"error": {"code": self.code, "message": self.message}}, headers)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return {"statusCode": status, "headers": {"content-type": "application/json", **(headers or {})},
            "body": json.dumps(body)}
