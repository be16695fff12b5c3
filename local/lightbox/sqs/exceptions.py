"""Errors the SQS API answers with, in the codes SDKs match on."""

from __future__ import annotations


class SqsError(Exception):
    def __init__(self, code: str, message: str, query_code: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.query_code, self.status = code, query_code, status
