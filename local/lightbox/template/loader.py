"""A template file (SAM or CloudFormation; a `cdk.out` folder) -> the model the emulator runs.

One path for every kind of template: the SAM transform turns SAM into CloudFormation, and one
CloudFormation reader (stacks.py) builds the model, child stacks included. Triggers are attached to
their functions once every stack is read; what is not emulated is collected as findings, which
`up` and `validate` print and `--strict` refuses.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightbox import config
from lightbox.config import Settings
from lightbox.exceptions import TemplateError, TemplateErrors
from lightbox.overrides import env_text
from lightbox.template import cdk, debug, provisioned
from lightbox.template.apimodel import Api, sqs_queue
from lightbox.template.attributes import StackIdentity, stack_id
from lightbox.template.building import Load, PendingTrigger
from lightbox.template.code import default_data_dir
from lightbox.template.document import read_document, read_template
from lightbox.template.model import (
    Finding,
    Function,
    HttpRoute,
    RuleTrigger,
    S3Trigger,
    ScheduleTrigger,
    SnsTrigger,
    SqsTrigger,
    Template,
)
from lightbox.template.sources import arn_name
from lightbox.template.stacks import Stack

BUILD_TEMPLATE = Path(".aws-sam") / "build" / "template.yaml"


def pick_template(path: Path, given: bool) -> tuple[Path, str | None]:
    """The file to load, and a note on why when it is not the one named. As `sam local` does after
    `sam build`, `.aws-sam/build/template.yaml` is used when no template was named (and only when it is
    newer than template.yaml, so an edit made after the build is not silently ignored); a `cdk.out`
    folder is used when there is no template.yaml."""
    if given:
        return path, None
    built = path.parent / BUILD_TEMPLATE
    if built.is_file():
        if not path.is_file() or built.stat().st_mtime >= path.stat().st_mtime:
            return built, f"using {built} (sam build's output, newer than {path.name})"
        return path, f"not using {built}: it is older than {path.name} (run sam build again to use it)"
    if not path.is_file():
        for other in ("template.yml", "template.json"):  # SAM CLI's other default names, in its order
            if (path.parent / other).is_file():
                return path.parent / other, None
        if (path.parent / "cdk.out" / "manifest.json").is_file():
            return path.parent / "cdk.out", f"no {path.name}: using the CDK app in {path.parent / 'cdk.out'}"
    return path, None


def stack_name_for(folder: Path) -> str:
    """A default AWS::StackName from the template's folder, in CloudFormation's alphabet."""
    name = re.sub(r"[^A-Za-z0-9-]", "-", folder.resolve().name).strip("-")
    return name if name[:1].isalpha() else f"stack-{name}" if name else "local"


def load_template(
    path: str | Path,
    *,
    parameter_overrides: Mapping[str, Any] | None = None,
    env_vars: Path | None = None,
    sqs_endpoint: str = config.SQS_ENDPOINT,
    region: str = config.REGION,
    account_id: str = config.ACCOUNT_ID,
    data_dir: Path | None = None,
    stack_name: str | None = None,
) -> Template:
    path = Path(path).resolve()
    if not path.exists():
        raise TemplateError(str(path), "", "template not found; pass -t PATH or run where template.yaml is")
    load = Load(region, account_id, sqs_endpoint, (data_dir or default_data_dir()).resolve())
    load.provisioned = provisioned.read(load.data_dir)
    given = dict(parameter_overrides or {})
    if path.is_dir():
        tops = cdk.manifest_stacks(path)
        load.notes.append(f"CDK app: stacks {', '.join(n for n, _ in tops)} from {path / 'manifest.json'}")
    else:
        tops = [(stack_name or stack_name_for(path.parent), path)]
    for name, file in tops:
        prefix = name if len(tops) > 1 else ""
        ident = StackIdentity(prefix, name, stack_id(region, account_id, name), region, account_id, sqs_endpoint)
        mine = given
        if len(tops) > 1:  # each stack of a CDK app takes the overrides it declares
            declared = set(read_template(file).get("Parameters") or {})
            mine = {k: v for k, v in given.items() if k in declared}
        Stack(load, file, ident, mine, "--parameter-overrides").build()
    template = _finish(load, path, tops[0][0])
    if env_vars is not None:
        _apply_env_vars(template, env_vars)
    return template


def _function_of(ref: str, by_name: Mapping[str, Function]) -> Function | None:
    """A function from its name or ARN, a version's or alias's ARN included."""
    name = ref.split(":function:", 1)[1].split(":")[0] if ":function:" in ref else ref
    return by_name.get(name)


def _finish(load: Load, path: Path, stack_name: str) -> Template:
    by_name = {fn.function_name: fn for fn in load.functions.values()}
    routes: dict[tuple[str, str], str] = {}
    for pending in load.triggers:
        fn = load.functions.get(pending.function) or _function_of(pending.function, by_name)
        if fn is None:
            load.finding(pending.res, pending.prop, f"{pending.function} is not a function of this template: "
                                                    "nothing is invoked")
            continue
        if not _target_exists(load, pending):
            continue
        trig = pending.trigger
        if isinstance(trig, HttpRoute):
            key = (trig.method, trig.path)
            if key in routes and routes[key] != trig.api:
                load.finding(pending.res, "", f"{trig.method} {trig.path} is also a route of {routes[key]}: all APIs "
                                              "share one port locally, and one of them answers it", kind="warning")
            routes.setdefault(key, trig.api)
        fn.triggers.append(trig)
    for function, invoke_config, res in load.invoke_configs:
        fn = _function_of(function, by_name)
        if fn is None:
            load.finding(res, "FunctionName", f"{function} is not a function of this template")
        else:
            fn.event_invoke_config = invoke_config
    queue_targets: list[SnsTrigger | RuleTrigger | ScheduleTrigger] = []
    for pending in load.queue_targets:
        if arn_name(pending.function) in load.queues and isinstance(pending.trigger, SnsTrigger | RuleTrigger
                                                                                     | ScheduleTrigger):
            queue_targets.append(pending.trigger)
        else:
            load.finding(pending.res, pending.prop, f"{pending.function} is not a queue of this template: nothing "
                                                    "is sent to it")
    buckets = dict(load.buckets)
    for bucket, notes in load.bucket_queue_notifications.items():
        for note, res in notes:
            if bucket not in buckets:
                load.finding(res, "BucketName", f"{bucket} is not a bucket of this template: its notifications are "
                                                "not sent")
            elif note.queue not in load.queues:
                load.finding(res, "NotificationConfiguration", f"{note.queue} is not a queue of this template: "
                                                               "notifications to it are not sent")
            else:
                current = buckets[bucket]
                buckets[bucket] = dataclasses.replace(current, queue_notifications=(*current.queue_notifications, note))
    return Template(path, dict(load.functions), dict(load.queues), buckets, load.region, load.account,
                    load.resources, load.findings, tuple(dict.fromkeys(load.files)), stack_name, load.notes,
                    _api_functions(load, by_name), queue_targets)


def _api_functions(load: Load, by_name: Mapping[str, Function]) -> dict[str, Api]:
    """Each Lambda proxy route names its function by the user's name (a route to no function of this
    template was said with its trigger, and is left out)."""
    for api in load.apis.values():
        routes = []
        for route in api.routes:
            arn = route.integration.function_arn
            if route.integration.type == "AWS_PROXY" and arn:
                fn = load.functions.get(route.function) or _function_of(arn, by_name)
                if fn is None:
                    continue
                route = dataclasses.replace(route, function=fn.name)
            queue = sqs_queue(route.integration)
            if queue is not None and queue not in load.queues:
                load.findings.append(Finding(api.name, api.declared_as, "", f"{route.method} {route.path} sends to "
                                             f"{queue!r}, not a queue of this template: it answers 500 here"))
            routes.append(route)
        api.routes = routes
    return dict(load.apis)


def _target_exists(load: Load, pending: PendingTrigger) -> bool:
    trig = pending.trigger
    if isinstance(trig, SqsTrigger) and trig.queue not in load.queues:
        load.finding(pending.res, "EventSourceArn", f"queue {trig.queue} is not a queue of this template: its "
                                                    "messages are not delivered")
        return False
    if isinstance(trig, S3Trigger) and trig.bucket not in load.buckets:
        load.finding(pending.res, "", f"bucket {trig.bucket} is not a bucket of this template: its events are not "
                                      "delivered")
        return False
    return True


def _apply_env_vars(template: Template, file: Path) -> None:
    """SAM CLI's --env-vars file: `Parameters` for every function, then an entry per function (by logical
    id, name or FunctionName). As SAM CLI does, only variables the template declares are set."""
    if file.name.endswith(".env"):
        from dotenv import dotenv_values

        overrides: Any = {"Parameters": dict(dotenv_values(file))}
    else:
        overrides = read_document(file, "--env-vars file")
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise TemplateError(str(file), "", 'must map "Parameters" and function names to {"VAR": "value"} objects')
    known = {"Parameters"}
    for fn in template.functions.values():
        keys = [k for k in (fn.logical_id, fn.name, fn.function_name) if k in overrides]
        known.update(keys)
        wanted = {**overrides.get("Parameters", {}), **(overrides[keys[0]] if keys else {})}
        for var, value in wanted.items():
            if var in fn.environment:
                fn.environment[var] = env_text(value)
            elif keys and var in overrides[keys[0]]:
                template.notes.append(f"{file.name}: {keys[0]}.{var} is not in {fn.name}'s Environment; not set "
                                      "(SAM CLI sets only declared variables)")
    for unknown in sorted(set(overrides) - known):
        template.notes.append(f"{file.name}: {unknown} names no function of this template; not used")


def refuse_not_emulated(template: Template, more: list[Finding] | None = None) -> None:
    """--strict: every line `up` would print is an error (`more`: the runtime's own lines)."""
    errors = [_strict_error(f) for f in [*template.shown(), *(more or [])]]
    if errors:
        raise TemplateErrors(errors)


def _strict_error(finding: Finding) -> TemplateError:
    what = "not emulated" if finding.kind == "not-emulated" else "not as on AWS"
    return TemplateError(finding.resource, finding.prop, f"{finding.message} ({finding.type}; {what}, and "
                                                          "--strict refuses it)")


def load_for(settings: Settings) -> Template:
    """The template a command's settings name, loaded as every process of a stack loads it."""
    template = load_template(settings.template, parameter_overrides=settings.parameter_overrides,
                             env_vars=settings.env_vars, sqs_endpoint=settings.public_sqs_endpoint,
                             data_dir=settings.data_dir, stack_name=settings.stack_name)
    _local_function_urls(template, settings.function_urls)
    if settings.debug:
        debug.mark(template, settings.debug)
    return template


def _local_function_urls(template: Template, urls: Mapping[str, str]) -> None:
    """Where a function's environment holds what `!GetAtt Url.FunctionUrl` gave (AWS's address), the URL
    `up` serves it on (`urls`: AWS's -> local, chosen by `up` before any process loads the template)."""
    for fn in template.functions.values():
        for key, value in fn.environment.items():
            for aws, local in urls.items():
                if aws in value:
                    fn.environment[key] = value = value.replace(aws, local)
