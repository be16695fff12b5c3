"""Two things `sam local start-api` runs that AWS's SAM transform refuses at deploy, run here too, each
with a line saying AWS would refuse it (a `--strict` error), instead of refusing to start:

- an event's `Auth.Authorizer: !Ref Param`: the transform wants a literal authorizer name; the
  parameter's value is used, as SAM CLI uses it;
- an HTTP API's `CorsConfiguration` with `AllowCredentials: true` and a `*` (or no) origin: the transform
  refuses the pair (browsers refuse credentials with `*` too); served without credentials.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from lightbox.template.model import Finding

_REFUSED = "AWS's SAM transform refuses this at deploy"


def lenient(doc: dict[str, Any], params: Mapping[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    """`doc` with both changes made (a copy when anything changes), and a line for each."""
    doc = copy.deepcopy(doc)
    found: list[Finding] = []
    resources: dict[str, Any] = doc["Resources"] if isinstance(doc.get("Resources"), dict) else {}
    globals_api = (doc.get("Globals") or {}).get("HttpApi") if isinstance(doc.get("Globals"), dict) else None
    if isinstance(globals_api, dict):
        _cors(globals_api, "Globals", "Globals.HttpApi", found)
    for name, res in resources.items():
        if not isinstance(res, dict) or not isinstance(res.get("Properties"), dict):
            continue
        kind, props = str(res.get("Type", "")), res["Properties"]
        if kind == "AWS::Serverless::HttpApi":
            _cors(props, name, kind, found)
        if kind == "AWS::Serverless::Function" and isinstance(props.get("Events"), dict):
            for event, spec in props["Events"].items():
                spec_props = spec.get("Properties") if isinstance(spec, dict) else None
                auth = spec_props.get("Auth") if isinstance(spec_props, dict) else None
                if not isinstance(auth, dict):
                    continue
                ref = auth.get("Authorizer")
                if isinstance(ref, dict) and set(ref) == {"Ref"} and isinstance(params.get(ref["Ref"]), str):
                    auth["Authorizer"] = params[ref["Ref"]]
                    found.append(Finding(name, kind, f"Events.{event}.Properties.Auth.Authorizer",
                                         f"!Ref {ref['Ref']}: {_REFUSED} (it takes an authorizer's name); "
                                         f"{auth['Authorizer']!r}, the parameter's value, is used here", "warning"))
    return doc, found


def _cors(props: dict[str, Any], name: str, kind: str, found: list[Finding]) -> None:
    cors = props.get("CorsConfiguration")
    if not isinstance(cors, dict) or cors.get("AllowCredentials") is not True:
        return
    origins = cors.get("AllowOrigins")
    if isinstance(origins, list) and "*" not in origins:
        return
    cors["AllowCredentials"] = False
    found.append(Finding(name, kind, "CorsConfiguration.AllowCredentials",
                         f"true with a '*' (or no) AllowOrigins: {_REFUSED}; served without credentials here",
                         "warning"))
