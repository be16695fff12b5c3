"""AWS::Lambda::Function, AWS::Lambda::LayerVersion and AWS::Lambda::EventInvokeConfig -> the model.

SAM functions arrive here too, as the SAM transform made them. The runtime string is recorded as
written (python3.12, nodejs20.x, provided.al2023) and so is PackageType Image: which of them can run
is the runtime layer's decision. A missing handler file is not a load error either: as on Lambda,
its invocations fail with Runtime.ImportModuleError; `validate` and `up` say so at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightbox.exceptions import TemplateError
from lightbox.template import checks
from lightbox.template.building import DEFAULT_MEMORY_SIZE, DEFAULT_TIMEOUT, Res, Scope
from lightbox.template.code import code_folder, handler_file, inline_folder
from lightbox.template.extensions import is_local
from lightbox.template.intrinsics import text
from lightbox.template.model import EventInvokeConfig, Function

_PUBLIC_LAYER = ("a layer from outside the template is not downloaded; the function runs with what is "
                 "installed (pip install the layer's packages into the environment lightbox runs in)")


# The services Lambda sends asynchronous invocation records to that the emulator delivers to.
_DESTINATIONS = ("sqs", "sns", "events", "lambda")


def _service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 5 and parts[0] == "arn" else ""


def _timeout(scope: Scope, res: Res, seconds: float) -> float:
    """Lambda's Timeout is 1 to 900 seconds; below 1 (a `Timeout: 0` SAM CLI runs) every invocation would
    time out at once, so the default runs, with a line saying AWS refuses it."""
    if seconds >= 1:
        return seconds
    scope.load.finding(res, "Timeout", f"{seconds:g} is below Lambda's minimum of 1 second; AWS would refuse this "
                                       f"template at deploy (runs with the default {DEFAULT_TIMEOUT:g} s here)",
                       kind="warning")
    return DEFAULT_TIMEOUT


def _tenant_isolation(value: Any, name: str) -> bool:
    """TenancyConfig.TenantIsolationMode: PER_TENANT is the one mode Lambda accepts."""
    if value is None:
        return False
    mode = checks.mapping(value, name, "TenancyConfig").get("TenantIsolationMode")
    if mode != "PER_TENANT":
        raise TemplateError(name, "TenancyConfig.TenantIsolationMode",
                            f"{mode!r} is not a mode Lambda accepts; the one accepted is PER_TENANT")
    return True


def build_layer(scope: Scope, res: Res) -> None:
    """A layer's folder, registered under its version ARN for the functions (of any stack) that list it."""
    content = res.props.get("Content")
    arn = scope.attributes.arn(res.logical_id)
    if isinstance(content, str) and is_local(content):
        scope.load.layers[arn] = code_folder(scope.base / content.removeprefix("file://"), scope.load.data_dir)
    else:
        scope.load.finding(res, "Content", f"{content!r} is not a local folder or .zip; functions using this "
                                           "layer run without it")


def _code(scope: Scope, res: Res, runtime: str) -> tuple[Path, str | None]:
    """(the code folder, a problem to report or None)."""
    code: Any = res.props.get("Code")
    if code is None and "CodeUri" in res.props:  # SAM's name, on a raw function: SAM CLI reads it, AWS refuses it
        code = res.props["CodeUri"]
        scope.load.finding(res, "CodeUri", "is SAM's property; AWS::Lambda::Function takes Code, and AWS would refuse "
                                           "it at deploy (read as Code here, as SAM CLI reads it)", kind="warning")
    if code is None:
        return scope.base, "there is no Code"
    if isinstance(code, str) and is_local(code):
        path = (scope.base / code.removeprefix("file://")).resolve()
        if path.is_file():  # a changed archive is extracted again on the template's reload
            scope.load.files.append(path)
        folder = code_folder(path, scope.load.data_dir)
        return folder, None if path.exists() else f"{path} does not exist"
    if isinstance(code, dict) and isinstance(code.get("ZipFile"), str):
        owner = f"{scope.identity.path}/{res.logical_id}" if scope.identity.path else res.logical_id
        return inline_folder(code["ZipFile"], runtime, scope.load.data_dir, owner, scope.base), None
    if isinstance(code, dict) and "S3Bucket" in code:
        where = f"s3://{code.get('S3Bucket')}/{code.get('S3Key')}"
        return scope.base, f"{where} is an S3 location, which is not fetched (give a local path)"
    return scope.base, f"{code!r} is not local code (a folder, a .zip, a file, or ZipFile)"


def _image_uri(res: Res) -> str | None:
    code = res.props.get("Code")
    return checks.optional_string(code.get("ImageUri"), res.name, "Code.ImageUri") if isinstance(code, dict) else None


def build_function(scope: Scope, res: Res) -> None:
    p, name = res.props, res.name
    package_type = checks.string(p.get("PackageType"), name, "PackageType", default="Zip")
    runtime = checks.string(p.get("Runtime"), name, "Runtime", default="")
    handler = checks.string(p.get("Handler"), name, "Handler", default="")
    image = package_type == "Image"
    if not image and not handler:
        raise TemplateError(name, "Handler", "required for a Zip function (module.function for Python); "
                                             "Lambda refuses a function without one")
    if not image and not runtime:
        raise TemplateError(name, "Runtime", "required for a Zip function (python3.12, nodejs20.x, "
                                             "provided.al2023 ...); Lambda refuses a function without one")
    code_uri, problem = (scope.base, None) if image else _code(scope, res, runtime)
    env = checks.mapping(checks.mapping(p.get("Environment"), name, "Environment").get("Variables"),
                         name, "Environment.Variables")
    environment: dict[str, str] = {}
    for key, value in env.items():
        try:
            environment[key] = "" if value is None else text(value)
        except TypeError as exc:
            raise TemplateError(name, f"Environment.Variables.{key}", f"must be a string; the value {exc}") from None
    layers: list[Path] = []
    outside: list[str] = []
    for i, arn in enumerate(checks.strings(p.get("Layers"), name, "Layers")):
        if arn in scope.load.layers:
            layers.append(scope.load.layers[arn])
        else:
            outside.append(arn)
            scope.load.finding(res, f"Layers[{i}]", f"{arn}: {_PUBLIC_LAYER}", kind="warning")
    dead_letter = checks.mapping(p.get("DeadLetterConfig"), name, "DeadLetterConfig").get("TargetArn")
    if isinstance(dead_letter, str) and _service(dead_letter) not in ("sqs", "sns"):
        scope.load.finding(res, "DeadLetterConfig.TargetArn", f"{dead_letter}: a dead-letter queue is an SQS queue "
                                                             "or an SNS topic; failed events are not sent there")
    fn = Function(
        name=name,
        handler=handler,
        code_uri=code_uri,
        runtime=runtime,
        timeout=_timeout(scope, res, checks.number(p.get("Timeout"), name, "Timeout", default=DEFAULT_TIMEOUT)),
        memory_size=checks.integer(p.get("MemorySize"), name, "MemorySize", default=DEFAULT_MEMORY_SIZE),
        environment=environment,
        layers=layers,
        function_name=res.physical,
        logical_id=res.logical_id,
        package_type=package_type,
        image_uri=_image_uri(res) if image else None,
        architectures=tuple(checks.strings(p.get("Architectures"), name, "Architectures")) or ("x86_64",),
        reserved_concurrency=checks.optional_integer(p.get("ReservedConcurrentExecutions"), name,
                                                     "ReservedConcurrentExecutions"),
        dead_letter_arn=checks.optional_string(dead_letter, name, "DeadLetterConfig.TargetArn"),
        layer_arns=tuple(outside),
        tenant_isolation=_tenant_isolation(p.get("TenancyConfig"), name),
    )
    if problem:
        fn.handler_found = False
        scope.load.finding(res, "CodeUri" if res.user_type.startswith("AWS::Serverless") else "Code",
                           f"{problem}; invocations fail", kind="warning")
    elif not image and handler_file(code_uri, handler, runtime) is None:
        fn.handler_found = False
        if runtime.startswith("provided"):  # a custom runtime starts its bootstrap; Handler is only passed on
            scope.load.finding(res, "CodeUri" if res.user_type.startswith("AWS::Serverless") else "Code",
                               f"no bootstrap file in {code_uri}; invocations fail with Runtime.InvalidEntrypoint, "
                               "as on Lambda", kind="warning")
        else:
            scope.load.finding(res, "Handler", f"{handler}: no such file in {code_uri}; invocations fail with "
                                               "Runtime.ImportModuleError, as on Lambda", kind="warning")
    if name in scope.load.functions:
        raise TemplateError(name, "", "two functions have this name")
    scope.load.functions[name] = fn


def build_invoke_config(scope: Scope, res: Res) -> None:
    p, name = res.props, res.name
    # Made by SAM from a function's EventInvokeConfig: lines name the property as the user wrote it.
    sam = "EventInvokeConfig." if res.user_type.startswith("AWS::Serverless::") else ""
    destinations = checks.mapping(p.get("DestinationConfig"), name, "DestinationConfig")

    def destination(key: str) -> str | None:
        target = checks.mapping(destinations.get(key), name, f"DestinationConfig.{key}").get("Destination")
        arn = checks.optional_string(target, name, f"DestinationConfig.{key}.Destination")
        if arn and _service(arn) not in _DESTINATIONS:
            scope.load.finding(res, f"{sam}DestinationConfig.{key}.Destination",
                               f"{arn}: destinations on this service are not emulated (emulated: SQS, SNS, "
                               "EventBridge, Lambda); records for it are logged instead")
        return arn

    config = EventInvokeConfig(
        maximum_retry_attempts=checks.optional_integer(p.get("MaximumRetryAttempts"), name, "MaximumRetryAttempts"),
        maximum_event_age_seconds=checks.optional_integer(p.get("MaximumEventAgeInSeconds"), name,
                                                          "MaximumEventAgeInSeconds"),
        on_success=destination("OnSuccess"),
        on_failure=destination("OnFailure"),
    )
    for prop, value, low, high in (("MaximumRetryAttempts", config.maximum_retry_attempts, 0, 2),
                                   ("MaximumEventAgeInSeconds", config.maximum_event_age_seconds, 60, 21600)):
        if value is not None and not low <= value <= high:
            scope.load.finding(res, f"{sam}{prop}", f"{value} is outside {low}-{high}; AWS would refuse it at "
                                                    "deploy (used as given here)", kind="warning")
    function = checks.string(p.get("FunctionName"), name, "FunctionName")
    scope.load.invoke_configs.append((function, config, res))
