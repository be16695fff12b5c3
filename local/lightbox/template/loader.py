"""SAM template -> typed model of functions, triggers, queues, buckets and layers.

What does not change local behaviour (Policies, Tracing, Outputs, Conditions, tags ...) is
accepted and logged at debug level; what would change it and is not emulated is a
TemplateError naming the resource and the property.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightbox import config
from lightbox.exceptions import TemplateError
from lightbox.template.intrinsics import Resolver, load_yaml
from lightbox.template.model import Bucket, Function, Queue, QueueNotification, Template
from lightbox.template.triggers import key_filter, parse_trigger

log = logging.getLogger(__name__)

FUNCTION = "AWS::Serverless::Function"
LAYER = "AWS::Serverless::LayerVersion"
QUEUE = "AWS::SQS::Queue"
BUCKET = "AWS::S3::Bucket"
# Resources that exist on AWS but need nothing locally (the gateway serves every route itself).
_INERT = {
    "AWS::Serverless::HttpApi", "AWS::Serverless::Api", "AWS::IAM::Role", "AWS::IAM::Policy",
    "AWS::Lambda::Permission", "AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy", "AWS::Logs::LogGroup",
    "AWS::Lambda::EventSourceMapping", "AWS::CloudWatch::Alarm", "AWS::SNS::Topic",
}
_FUNCTION_PROPS = {"Handler", "CodeUri", "Runtime", "Timeout", "MemorySize", "Environment", "Layers", "Events"}
_PYTHON_RUNTIMES = ("python3.",)


def load_template(
    path: str | Path,
    *,
    parameter_overrides: Mapping[str, str] | None = None,
    sqs_endpoint: str = config.SQS_ENDPOINT,
    region: str = config.REGION,
    account_id: str = config.ACCOUNT_ID,
) -> Template:
    path = Path(path).resolve()
    if not path.is_file():
        raise TemplateError(str(path), "(file)", "template not found; pass -t PATH or run where template.yaml is")
    doc = load_yaml(path.read_text()) or {}
    resources: dict[str, Any] = doc.get("Resources") or {}
    if not resources:
        raise TemplateError(str(path), "Resources", "the template defines no resources")
    for section in ("Conditions", "Outputs", "Metadata", "Mappings", "Rules"):
        if section in doc:
            log.debug("template: %s accepted and ignored locally", section)

    values: dict[str, Any] = {
        "AWS::Region": region, "AWS::AccountId": account_id, "AWS::StackName": path.parent.name or "local",
        "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::StackId": "local",
    }
    overrides = dict(parameter_overrides or {})
    for name, spec in (doc.get("Parameters") or {}).items():
        if name in overrides:
            values[name] = overrides.pop(name)
        elif "Default" in spec:
            values[name] = spec["Default"]
        else:
            raise TemplateError(f"Parameters.{name}", "Default", "no default; pass --parameter-overrides")
    if overrides:
        raise TemplateError("Parameters", ", ".join(overrides), "override names a parameter the template lacks")

    names = _physical_names(resources, values)

    def ref(name: str) -> Any:
        res = resources.get(name)
        if res is None:
            raise TemplateError(name, "Ref", "names no parameter or resource in this template")
        kind = res.get("Type")
        if kind == QUEUE:
            return f"{sqs_endpoint}/{account_id}/{names[name]}"
        if kind == LAYER:
            return f"arn:aws:lambda:{region}:{account_id}:layer:{name}:1"
        return names.get(name, name)

    def get_att(name: str, attr: str) -> Any:
        res = resources.get(name)
        if res is None:
            raise TemplateError(name, f"Fn::GetAtt.{attr}", "names no resource in this template")
        kind, physical = res.get("Type"), names.get(name, name)
        table = {
            (QUEUE, "Arn"): f"arn:aws:sqs:{region}:{account_id}:{physical}",
            (QUEUE, "QueueName"): physical,
            (QUEUE, "QueueUrl"): f"{sqs_endpoint}/{account_id}/{physical}",
            (BUCKET, "Arn"): f"arn:aws:s3:::{physical}",
            (BUCKET, "DomainName"): f"{physical}.s3.amazonaws.com",
            (BUCKET, "RegionalDomainName"): f"{physical}.s3.{region}.amazonaws.com",
            (FUNCTION, "Arn"): f"arn:aws:lambda:{region}:{account_id}:function:{physical}",
        }
        if (kind, attr) not in table:
            raise TemplateError(name, f"Fn::GetAtt.{attr}", f"attribute not emulated for {kind}")
        return table[(kind, attr)]

    resolver = Resolver(values, ref, get_att)
    layers = {n: _layer_root(path.parent, n, r, resolver) for n, r in resources.items() if r.get("Type") == LAYER}
    layer_by_arn = {ref(n): root for n, root in layers.items()}
    globals_fn = (doc.get("Globals") or {}).get("Function") or {}

    functions: dict[str, Function] = {}
    queues: dict[str, Queue] = {}
    buckets: dict[str, Bucket] = {}
    for name, res in resources.items():
        kind = res.get("Type")
        props = res.get("Properties") or {}
        if kind == FUNCTION:
            functions[name] = _function(path.parent, name, _merge_globals(globals_fn, props), resolver, layer_by_arn)
        elif kind == QUEUE:
            q = _queue(name, resolver.resolve(props, name), names[name])
            queues[q.name] = q
        elif kind == BUCKET:
            buckets[names[name]] = _bucket(name, resolver.resolve(props, name), names[name])
        elif kind == LAYER or kind in _INERT:
            log.debug("template: %s (%s) needs nothing locally", name, kind)
        else:
            log.debug("template: %s (%s) is not emulated and is ignored", name, kind)
    template = Template(path, functions, queues, buckets, region, account_id)
    _check_wiring(template)
    return template


# CloudFormation's CorsRule property names -> the S3 API's (what put_bucket_cors takes).
_CORS_FIELDS = {"AllowedHeaders": "AllowedHeaders", "AllowedMethods": "AllowedMethods",
                "AllowedOrigins": "AllowedOrigins", "ExposedHeaders": "ExposeHeaders", "Id": "ID",
                "MaxAge": "MaxAgeSeconds"}


def _cors_rules(cors: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    rules = []
    for rule in cors.get("CorsRules") or []:
        out = {_CORS_FIELDS[k]: v for k, v in rule.items() if k in _CORS_FIELDS}
        if "MaxAgeSeconds" in out:
            out["MaxAgeSeconds"] = int(out["MaxAgeSeconds"])
        rules.append(out)
    return tuple(rules)


def _physical_names(resources: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, str]:
    """Queue and bucket names: the template's own, else one derived from the logical id."""
    pre = Resolver(values, lambda n: n, lambda n, a: f"{n}.{a}")
    names: dict[str, str] = {}
    for name, res in resources.items():
        props = res.get("Properties") or {}
        if res.get("Type") == QUEUE:
            names[name] = str(pre.resolve(props.get("QueueName", name), name))
        elif res.get("Type") == BUCKET:
            # Bucket names must be lower case; AWS would add the stack name and a suffix.
            names[name] = str(pre.resolve(props.get("BucketName", name.lower()), name))
        elif res.get("Type") == FUNCTION:
            names[name] = str(pre.resolve(props.get("FunctionName", name), name))
    return names


def _merge_globals(globals_fn: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules: maps merge, lists append, scalars are overridden by the function."""
    merged: dict[str, Any] = dict(globals_fn)
    for key, value in props.items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, dict) and not _is_intrinsic(value):
            merged[key] = _merge_globals(base, value)
        elif isinstance(base, list) and isinstance(value, list):
            merged[key] = base + value
        else:
            merged[key] = value
    return merged


def _is_intrinsic(value: Mapping[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::"))


def _layer_root(base: Path, name: str, res: Mapping[str, Any], resolver: Resolver) -> Path:
    props = res.get("Properties") or {}
    uri = resolver.resolve(props.get("ContentUri"), f"{name}.ContentUri")
    if not isinstance(uri, str):
        raise TemplateError(name, "ContentUri", "must be a local folder path to run locally")
    return (base / uri).resolve()


def _function(
    base: Path, name: str, props: dict[str, Any], resolver: Resolver, layer_by_arn: Mapping[str, Path]
) -> Function:
    for key in props:
        if key not in _FUNCTION_PROPS:
            log.debug("template: %s.%s accepted and ignored locally", name, key)
    if props.get("PackageType") == "Image":
        raise TemplateError(name, "PackageType", "Image functions need Docker; only Zip (code folder) runs locally")
    runtime = str(resolver.resolve(props.get("Runtime", ""), f"{name}.Runtime"))
    if not runtime.startswith(_PYTHON_RUNTIMES):
        raise TemplateError(name, "Runtime", f"{runtime or 'missing'}: only python3.x runtimes run in-process")
    handler = resolver.resolve(props.get("Handler"), f"{name}.Handler")
    if not isinstance(handler, str) or "." not in handler:
        raise TemplateError(name, "Handler", f"{handler!r} is not of the form module.function")
    code_uri = resolver.resolve(props.get("CodeUri", "."), f"{name}.CodeUri")
    if not isinstance(code_uri, str):
        raise TemplateError(name, "CodeUri", "must be a local folder path (an S3 location cannot run locally)")
    env = resolver.resolve((props.get("Environment") or {}).get("Variables") or {}, f"{name}.Environment")
    layers: list[Path] = []
    for i, layer in enumerate(resolver.resolve(props.get("Layers") or [], f"{name}.Layers")):
        if layer not in layer_by_arn:
            raise TemplateError(name, f"Layers[{i}]", f"{layer} is not a LayerVersion in this template")
        layers.append(layer_by_arn[layer])
    fn = Function(
        name=name,
        handler=handler,
        code_uri=(base / code_uri).resolve(),
        runtime=runtime,
        timeout=float(resolver.resolve(props.get("Timeout", config.FUNCTION_TIMEOUT), f"{name}.Timeout")),
        memory_size=int(resolver.resolve(props.get("MemorySize", 128), f"{name}.MemorySize")),
        environment={k: "" if v is None else str(v) for k, v in env.items()},
        layers=layers,
    )
    for event_name, spec in (props.get("Events") or {}).items():
        fn.triggers.append(parse_trigger(name, event_name, resolver.resolve(spec, f"{name}.Events.{event_name}")))
    return fn


def _queue(name: str, props: Mapping[str, Any], physical: str) -> Queue:
    redrive = props.get("RedrivePolicy") or {}
    dlq_arn = redrive.get("deadLetterTargetArn")
    return Queue(
        name=physical,
        logical_id=name,
        visibility_timeout=int(props.get("VisibilityTimeout", config.VISIBILITY_TIMEOUT)),
        dead_letter_queue=str(dlq_arn).rsplit(":", 1)[-1] if dlq_arn else None,
        max_receive_count=int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None,
    )


def _bucket(name: str, props: Mapping[str, Any], physical: str) -> Bucket:
    """A bucket, with the S3 -> SQS notifications it sends; other targets are not emulated and say so."""
    config = props.get("NotificationConfiguration") or {}
    for other in sorted(set(config) - {"QueueConfigurations"}):
        raise TemplateError(name, f"NotificationConfiguration.{other}",
                            "not emulated: notify an SQS queue (QueueConfigurations) or use a SAM S3 event")
    notifications = []
    for i, entry in enumerate(config.get("QueueConfigurations") or []):
        where = f"NotificationConfiguration.QueueConfigurations[{i}]"
        arn, event = entry.get("Queue"), entry.get("Event")
        if not isinstance(arn, str) or not arn.startswith("arn:aws:sqs:"):
            raise TemplateError(name, f"{where}.Queue", "must be a queue ARN (!GetAtt Queue.Arn)")
        if not isinstance(event, str):
            raise TemplateError(name, f"{where}.Event", "names no S3 event type")
        prefix, suffix = key_filter(entry.get("Filter"), name, f"{where}.Filter")
        notifications.append(QueueNotification(arn.rsplit(":", 1)[-1], (event,), prefix, suffix))
    return Bucket(physical, name, _cors_rules(props.get("CorsConfiguration") or {}), tuple(notifications))


def _check_wiring(template: Template) -> None:
    """Triggers must point at buckets and handlers that exist, or nothing would ever fire."""
    from lightbox.template.model import S3Trigger

    for fn in template.functions.values():
        if not fn.code_uri.is_dir():
            raise TemplateError(fn.name, "CodeUri", f"{fn.code_uri} is not a folder")
        module = fn.handler.rsplit(".", 1)[0].replace(".", "/")
        if not (fn.code_uri / f"{module}.py").is_file() and not (fn.code_uri / module / "__init__.py").is_file():
            raise TemplateError(fn.name, "Handler", f"{fn.handler}: no {module}.py in {fn.code_uri}")
        for trig in fn.of_kind(S3Trigger):
            if trig.bucket not in template.buckets:
                raise TemplateError(fn.name, f"Events.{trig.event_name}.Bucket",
                                    f"{trig.bucket} is not an AWS::S3::Bucket in this template (SAM requires it)")
    for bucket in template.buckets.values():
        for note in bucket.queue_notifications:
            if note.queue not in template.queues:
                raise TemplateError(bucket.logical_id, "NotificationConfiguration.QueueConfigurations.Queue",
                                    f"{note.queue} is not an AWS::SQS::Queue in this template")
