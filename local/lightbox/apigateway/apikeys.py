"""REST API keys, checked where a method has `ApiKeyRequired`: the `x-api-key` header (or, with
`ApiKeySourceType: AUTHORIZER`, the authorizer's `usageIdentifierKey`) must be an enabled key of the
template; otherwise 403 `{"message":"Forbidden"}`, as API Gateway answers.

Keys come from `AWS::ApiGateway::ApiKey` resources (`Value`, else a stable local value derived from
the key's name, since AWS would generate one), disabled keys (`Enabled: false`, CloudFormation's
default) refused. When a method requires a key and the template declares none, one local key is
made up so the method can be called at all; `lightbox up` prints every key. Usage plans (which key
may call which stage, throttles, quotas) are not applied: any enabled key opens every API.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lightbox.apigateway.authorizers import Refused

HEADER = "x-api-key"
MISSING = Refused(403, {"message": "Forbidden"}, (("x-amzn-ErrorType", "ForbiddenException"),))


def local_value(name: str) -> str:
    """A key's value when the template gives none: stable across restarts, 40 characters as AWS's."""
    return "lb" + hashlib.sha256(f"lightbox-api-key/{name}".encode()).hexdigest()[:38]


@dataclass
class ApiKeys:
    keys: dict[str, str] = field(default_factory=dict)  # value -> the key's name
    made_up: bool = False  # no key in the template: one local key stands in

    @classmethod
    def from_resources(cls, resources: Iterable[tuple[str, str, Mapping[str, Any]]], required: bool) -> ApiKeys:
        """From (name, type, properties) of the template's resources; `required`: some method needs a key."""
        keys: dict[str, str] = {}
        declared = False
        for name, kind, props in resources:
            if kind != "AWS::ApiGateway::ApiKey":
                continue
            declared = True
            if str(props.get("Enabled", False)).lower() != "true":
                continue
            value = props.get("Value")
            keys[str(value) if isinstance(value, str) and value else local_value(name)] = name
        if required and not declared:
            return cls({local_value("local"): "local"}, made_up=True)
        return cls(keys)

    def check(self, headers: Iterable[tuple[str, str]], usage_key: str | None = None,
              from_authorizer: bool = False) -> Refused | None:
        given = usage_key if from_authorizer else next((v for k, v in headers if k.lower() == HEADER), None)
        return None if given is not None and given in self.keys else MISSING

    def lines(self) -> list[str]:
        """What `lightbox up` prints."""
        if self.made_up:
            return [f"API key (no AWS::ApiGateway::ApiKey in the template; send it as x-api-key): "
                    f"{next(iter(self.keys))}"]
        return [f"API key {name}: {value}" for value, name in self.keys.items()]
