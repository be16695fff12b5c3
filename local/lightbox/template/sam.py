"""SAM -> CloudFormation with aws-sam-translator, the code AWS's `AWS::Serverless-2016-10-31` transform
runs, offline: local paths in, local paths out, no call to AWS.

The translator wants S3 URIs where SAM users write local paths, so `CodeUri: src/` goes in as
`s3://lightbox-local/src/` and comes out as `Code: src/`, the local-path form `aws cloudformation
package` reads. A SAR application is answered by a stub (its template is not fetched; the loader
says so). Its errors are AWS's deploy-time refusals: each cause becomes one line.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from lightbox.exceptions import TemplateError, TemplateErrors
from lightbox.template.document import read_document
from lightbox.template.extensions import is_local, local_path

LOCAL_BUCKET = "lightbox-local"
_PREFIX = f"s3://{LOCAL_BUCKET}/"
# The translator drops an S3 key's leading "/": an absolute local path keeps it under this mark.
_ABSOLUTE = "@abs"


def _local_uri(path: Any) -> str:
    text = str(path).removeprefix("file://")
    return _PREFIX + (_ABSOLUTE + text if text.startswith("/") else text)
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
_CACHE: OrderedDict[str, dict[str, Any]] = OrderedDict()
_CACHE_SIZE = 32  # reloads and the pytest plugin load the same few templates again and again


class _StubSar:
    """The two SAR calls ServerlessAppPlugin makes, answered without AWS: the app stays remote."""

    def create_cloud_formation_template(self, ApplicationId: str, SemanticVersion: str) -> dict[str, Any]:
        return {"TemplateUrl": f"https://sar.invalid/{ApplicationId.rsplit('/', 1)[-1]}/{SemanticVersion}.yaml",
                "Status": "ACTIVE", "TemplateId": "lightbox", "ExpirationTime": "2099-01-01T00:00:00Z"}

    def get_cloud_formation_template(self, ApplicationId: str, TemplateId: str) -> dict[str, Any]:
        return {"Status": "ACTIVE", "TemplateUrl": "https://sar.invalid/app.yaml"}


def _param_ref(value: Any, params: dict[str, Any]) -> Any:
    """`!Ref Param` and a Fn::Sub of parameters only, resolved (as `sam package` needs for artifact paths)."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str) and isinstance(params.get(arg), str):
            return params[arg]
        if key == "Fn::Sub" and isinstance(arg, str):
            names = re.findall(r"\$\{([^!}][^}]*)\}", arg)
            if all(isinstance(params.get(n), str) for n in names):
                return re.sub(r"\$\{([^!}][^}]*)\}", lambda m: str(params[m.group(1)]), arg)
    return value


def _localize(doc: dict[str, Any], base: Path, params: dict[str, Any], files: list[Path]) -> None:
    """Local artifact paths -> s3://lightbox-local/..., local definition files inlined (mutates doc)."""
    fn_globals = ((doc.get("Globals") or {}).get("Function") or {})
    if isinstance(fn_globals, dict) and "CodeUri" in fn_globals:
        fn_globals["CodeUri"] = _param_ref(fn_globals["CodeUri"], params)
        if is_local(fn_globals["CodeUri"]):
            fn_globals["CodeUri"] = _local_uri(fn_globals["CodeUri"])
    for res in (doc.get("Resources") or {}).values():
        if not isinstance(res, dict) or not isinstance(res.get("Properties", {}), dict):
            continue
        kind, props = res.get("Type"), res.setdefault("Properties", {}) or {}
        res["Properties"] = props
        for key in ("CodeUri", "ContentUri", "DefinitionUri", "ImageUri", "Location"):
            if key in props:
                props[key] = _param_ref(props[key], params)
        if kind == "AWS::Serverless::Function":
            image = props.get("PackageType", fn_globals.get("PackageType")) == "Image"
            if image and "ImageUri" not in props and "ImageUri" not in fn_globals:
                props["ImageUri"] = f"lightbox-local-image:{res.get('Metadata', {}).get('DockerTag', 'latest')}"
            elif not image and "InlineCode" not in props:
                if "CodeUri" not in props and "CodeUri" not in fn_globals:
                    props["CodeUri"] = _PREFIX + "."  # SAM CLI's default, the template's own folder
                elif is_local(props.get("CodeUri")):
                    props["CodeUri"] = _local_uri(props["CodeUri"])
        elif kind == "AWS::Serverless::LayerVersion" and is_local(props.get("ContentUri")):
            props["ContentUri"] = _local_uri(props["ContentUri"])
        elif kind in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi") and is_local(props.get("DefinitionUri")):
            path = local_path(base, props.pop("DefinitionUri"))
            files.append(path)
            props["DefinitionBody"] = read_document(path, "DefinitionUri file")
        elif kind == "AWS::Serverless::StateMachine" and is_local(props.get("DefinitionUri")):
            path = local_path(base, props.pop("DefinitionUri"))
            files.append(path)
            props["Definition"] = read_document(path, "DefinitionUri file")


def _delocalize(node: Any) -> Any:
    """`{S3Bucket: lightbox-local, S3Key: p}` (and Bucket/Key) -> "p", the local-path form."""
    if isinstance(node, dict):
        bucket = node.get("S3Bucket", node.get("Bucket"))
        key = node.get("S3Key", node.get("Key"))
        if bucket == LOCAL_BUCKET and isinstance(key, str):
            return "/" + key.removeprefix(_ABSOLUTE + "/") if key.startswith(_ABSOLUTE + "/") else key
        return {k: _delocalize(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_delocalize(v) for v in node]
    return node


def _refusal(cause: Any, origins: Origins) -> TemplateError:
    """One translator cause as `Resource.Events.E: message (AWS's SAM transform refuses ...)`, in the
    user's names (`FnA`, the mapping made for event A of Fn, is `Fn.Events.A`)."""
    text = str(getattr(cause, "message", cause))
    m = re.match(r"Resource with id \[(?P<res>[^\]]+)\] is invalid\. (?:Event with id \[(?P<ev>[^\]]+)\] is "
                 r"invalid\. )?(?P<rest>.*)", text, re.S)
    if m:
        resource, _, event = origins.of(m["res"], "")
        event = m["ev"] or event
        return TemplateError(resource, f"Events.{event}" if event else "",
                             f"{m['rest'].strip()} (AWS's SAM transform refuses this at deploy)")
    return TemplateError("Transform", SAM_TRANSFORM, f"{text} (AWS's SAM transform refuses this at deploy)")


def translate(doc: dict[str, Any], base: Path, params: dict[str, Any], region: str, account: str,
              files: list[Path]) -> dict[str, Any]:
    """The CloudFormation template the SAM transform makes of `doc` (whose pre-passes have run)."""
    doc = copy.deepcopy(doc)
    _localize(doc, base, params, files)
    doc["Transform"] = SAM_TRANSFORM  # the translator wants only its own transform left
    values = {k: v for k, v in params.items() if isinstance(v, str | int | float | list)}
    key = hashlib.sha256(json.dumps([doc, values, region, account], sort_keys=True, default=str).encode()).hexdigest()
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return copy.deepcopy(_CACHE[key])
    out = _delocalize(_run_translator(doc, values, region, account, Origins(doc.get("Resources") or {})))
    _CACHE[key] = out
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return copy.deepcopy(out)


def _run_translator(doc: dict[str, Any], values: dict[str, Any], region: str, account: str,
                    origins: Origins) -> dict[str, Any]:
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.plugins.application.serverless_app_plugin import ServerlessAppPlugin
    from samtranslator.translator.translator import Translator

    logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)  # "unpublished metrics" on every call
    pseudo = {"AWS::Region": region, "AWS::Partition": "aws", "AWS::AccountId": account}
    session = boto3.session.Session(region_name=region)  # pseudo parameters without any lookup
    sar = ServerlessAppPlugin(sar_client=_StubSar(), parameters={**pseudo, **values})
    translator = Translator(None, Parser(), plugins=[sar], boto_session=session)
    try:
        result: dict[str, Any] = translator.translate(doc, parameter_values=dict(values),
                                                      get_managed_policy_map=lambda: {})
    except InvalidDocumentException as exc:
        raise TemplateErrors([_refusal(c, origins) for c in exc.causes]) from None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # the translator's own crash on odd input
        raise TemplateError("Transform", SAM_TRANSFORM, f"the SAM transform could not read the template "
                                                        f"({type(exc).__name__}: {exc}); check the types of the "
                                                        "properties of its Serverless resources") from None
    return result


class Origins:
    """Which resource the user wrote each generated resource for: `QueueFunctionWork` (an event source
    mapping) is `QueueFunction`'s event `Work`; `SharedLayer5d234903ef` is `SharedLayer`. Messages
    speak of the user's names. SAM's naming of generated resources (`<Function><Event>`,
    `<Function>Role`, `<Layer><hash>`) is documented and stable."""

    _IMPLICIT: ClassVar[dict[str, str]] = {"ServerlessRestApi": "AWS::Serverless::Api",
                                           "ServerlessHttpApi": "AWS::Serverless::HttpApi"}

    def __init__(self, written: dict[str, Any]) -> None:
        self._written = written
        self._types = {k: str(v.get("Type")) for k, v in written.items() if isinstance(v, dict)}
        self._events: dict[str, list[str]] = {}
        for k, v in written.items():
            if isinstance(v, dict) and str(v.get("Type", "")).startswith("AWS::Serverless::"):
                events = (v.get("Properties") or {}).get("Events") if isinstance(v.get("Properties"), dict) else None
                self._events[k] = sorted(events, key=len, reverse=True) if isinstance(events, dict) else []
        self._sam = sorted(self._events, key=len, reverse=True)

    def of(self, logical_id: str, cfn_type: str) -> tuple[str, str, str | None]:
        """(the user's resource, its type as written, the event it came from or None)."""
        if logical_id in self._types:
            return logical_id, self._types[logical_id], None
        if logical_id in self._IMPLICIT:
            return logical_id, self._IMPLICIT[logical_id], None
        for sam_id in self._sam:
            if logical_id.startswith(sam_id):
                rest = logical_id[len(sam_id):]
                event = next((e for e in self._events[sam_id] if rest.startswith(e)), None)
                return sam_id, self._types[sam_id], event
        return logical_id, cfn_type, None

    def described_events(self, logical_id: str) -> list[str]:
        """["Schedule event Daily", ...]: a SAM resource's events, for lines about it."""
        events = ((self._written.get(logical_id) or {}).get("Properties") or {}).get("Events")
        return [f"{(e or {}).get('Type')} event {n}" for n, e in events.items()] if isinstance(events, dict) else []

    def _function_events(self, kinds: tuple[str, ...], exists: Mapping[str, str],
                         physical: Callable[[str], str]) -> list[tuple[str, str, dict[str, Any]]]:
        """(the function's physical name, event name, event properties) of SAM functions' events of `kinds`."""
        found = []
        for fn_id, res in self._written.items():
            if not (isinstance(res, dict) and res.get("Type") == "AWS::Serverless::Function" and fn_id in exists):
                continue
            for name, event in ((res.get("Properties") or {}).get("Events") or {}).items():
                if isinstance(event, dict) and event.get("Type") in kinds:
                    found.append((physical(fn_id), str(name), event.get("Properties") or {}))
        return found

    def api_events(self, exists: Mapping[str, str], physical: Callable[[str], str]) -> dict[tuple[str, str, str], str]:
        """(function, METHOD, path) -> the Api/HttpApi event that made the route (a route's name)."""
        out = {}
        for function, name, p in self._function_events(("Api", "HttpApi"), exists, physical):
            method, path = p.get("Method", "ANY"), p.get("Path", "/{proxy+}")
            if isinstance(method, str) and isinstance(path, str):
                out[(function, "ANY" if method.lower() == "any" else method.upper(), path)] = name
        return out

    def api_event_owners(self, exists: Mapping[str, str], physical: Callable[[str], str]
                         ) -> dict[tuple[str, str, str], str]:
        """(function's physical name, METHOD, path) -> the SAM function (logical id) whose event made the route:
        which function it is when two share a FunctionName (AWS refuses that at deploy; SAM CLI runs it)."""
        out = {}
        for fn_id, res in self._written.items():
            if not (isinstance(res, dict) and res.get("Type") == "AWS::Serverless::Function" and fn_id in exists):
                continue
            for event in ((res.get("Properties") or {}).get("Events") or {}).values():
                if isinstance(event, dict) and event.get("Type") in ("Api", "HttpApi"):
                    p = event.get("Properties") or {}
                    method, path = p.get("Method", "ANY"), p.get("Path", "/{proxy+}")
                    if isinstance(method, str) and isinstance(path, str):
                        out[(physical(fn_id), "ANY" if method.lower() == "any" else method.upper(), path)] = fn_id
        return out

    def function_of(self, physical_name: str, exists: Mapping[str, str], physical: Callable[[str], str]) -> str:
        """The SAM function a physical name belongs to (its logical id), or the name itself."""
        return next((k for k in self._events if k in exists and physical(k) == physical_name), physical_name)

    def s3_events(self, exists: Mapping[str, str], physical: Callable[[str], str]
                  ) -> dict[str, dict[str, tuple[tuple[str, ...], str, str]]]:
        """function -> S3 event -> (event types, prefix, suffix): which event a bucket notification came from."""
        out: dict[str, dict[str, tuple[tuple[str, ...], str, str]]] = {}
        for function, name, p in self._function_events(("S3",), exists, physical):
            events = p.get("Events")
            rules = (((p.get("Filter") or {}).get("S3Key") or {}).get("Rules")) or []
            found = {str(r.get("Name", "")).lower(): str(r.get("Value", "")) for r in rules if isinstance(r, dict)}
            kinds = (events,) if isinstance(events, str) else tuple(events or ())
            out.setdefault(function, {})[name] = (kinds, found.get("prefix", ""), found.get("suffix", ""))
        return out
