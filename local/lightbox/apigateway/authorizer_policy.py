"""The IAM policy a Lambda authorizer returns, evaluated as API Gateway evaluates it against the
method ARN (`arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/path`).

IAM's rules: an explicit Deny on a matching statement wins; else a matching Allow allows; else the
request is denied (implicitly). `*` matches any run of characters, `?` one, in Action and Resource.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from functools import lru_cache
from typing import Any


class Verdict(Enum):
    ALLOW = "allow"
    DENY = "deny"  # an explicit Deny
    NO_MATCH = "no-match"  # no statement allows: denied too, with another message


class BadPolicy(ValueError):
    """The authorizer's answer is not a policy API Gateway accepts (it answers 500)."""


@lru_cache(maxsize=512)
def _pattern(glob: str) -> re.Pattern[str]:
    # IAM's wildcards only (fnmatch's [...] classes would be wrong here: brackets are literal in IAM).
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(body + r"\Z", re.DOTALL)


def _matches(patterns: Any, value: str, case_sensitive: bool = True) -> bool:
    items = patterns if isinstance(patterns, list) else [patterns]
    for item in items:
        if not isinstance(item, str):
            continue
        if case_sensitive and _pattern(item).match(value):
            return True
        if not case_sensitive and _pattern(item.lower()).match(value.lower()):
            return True
    return False


def statements(policy: Any) -> list[Mapping[str, Any]]:
    """The policy's statements; BadPolicy when it is not a policy document."""
    if not isinstance(policy, Mapping):
        raise BadPolicy("policyDocument is not an object")
    found = policy.get("Statement")
    if isinstance(found, Mapping):
        found = [found]
    if not isinstance(found, list) or not all(isinstance(s, Mapping) for s in found):
        raise BadPolicy("policyDocument.Statement is not a list of statements")
    for s in found:
        if s.get("Effect") not in ("Allow", "Deny"):
            raise BadPolicy(f"a statement's Effect is {s.get('Effect')!r}, not Allow or Deny")
    return list(found)


def evaluate(policy: Any, method_arn: str, action: str = "execute-api:Invoke") -> Verdict:
    allowed = False
    for s in statements(policy):
        # Actions are case-insensitive in IAM; resources (the path part) are not.
        if not _matches(s.get("Action"), action, case_sensitive=False):
            continue
        if not _matches(s.get("Resource"), method_arn):
            continue
        if s["Effect"] == "Deny":
            return Verdict.DENY
        allowed = True
    return Verdict.ALLOW if allowed else Verdict.NO_MATCH


def method_arn(region: str, account: str, api_id: str, stage: str, method: str, path: str) -> str:
    """What API Gateway names a request in its authorizer's event: the path is the one called, not
    the route's template (`/pets/7`, not `/pets/{id}`)."""
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{path.lstrip('/')}"
