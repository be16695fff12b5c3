"""What `lightbox up` and `lightbox validate` print about a template: what will run, and one line
for each thing that changes behaviour and is not emulated."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from lightbox import awsenv, config
from lightbox.apigateway.access import api_keys, requires_api_key
from lightbox.apigateway.routing import api_lines
from lightbox.config import Settings
from lightbox.lambda_.api import lambda_lines
from lightbox.runtime.invoke import runtime_findings, unsupported
from lightbox.runtime.runtimes.support import version_warnings
from lightbox.stack.up import Stack
from lightbox.template import provisioned
from lightbox.template.model import Finding, HttpRoute, RuleTrigger, ScheduleTrigger, SnsTrigger, Template


def findings(template: Template, verbose: bool = False) -> list[Finding]:
    """The template's lines and the runtime's own (a function it will not run)."""
    return [*template.shown(verbose), *runtime_findings(template)]


def finding_lines(template: Template, verbose: bool = False) -> list[str]:
    lines = [f"lightbox: {note}" for note in template.notes]
    lines.extend(version_warnings(template))  # the language version each function runs on, where it differs
    shown = findings(template, verbose)
    if shown:
        lines.append("not emulated (--strict refuses these):")
    lines.extend(f"  {f.line()}" for f in shown)
    return lines


def template_lines(template: Template) -> list[str]:
    """Every function with its runtime, handler, code folder and triggers; bucket -> queue notifications."""
    t = template
    home = t.path.parent if t.path.is_file() else t.path
    lines = [f"lightbox: {t.path}: {len(t.functions)} functions, {len(t.routes())} routes, {len(t.queues)} queues, "
             f"{len(t.buckets)} buckets"]
    for fn in sorted(t.functions.values(), key=lambda f: f.name):
        where = Path(os.path.relpath(fn.code_uri, home))
        state = "" if fn.handler_found and not unsupported(fn) else "  (does not run: see below)"
        lines.append(f"  function {fn.name:28} {fn.runtime or fn.package_type:16} {fn.handler}  in {where}{state}")
        for trig in fn.triggers:
            if isinstance(trig, HttpRoute):
                api = f"{trig.api}, stage {trig.stage}" if trig.stage else trig.api
                lines.append(f"    route    {trig.method:7} {trig.path}  ({api}; payload {trig.payload_version})")
            else:
                kind = type(trig).__name__.removesuffix("Trigger").lower()
                fields = ", ".join(f"{k}={v}" for k, v in vars(trig).items() if k != "event_name" and v not in ((), ""))
                lines.append(f"    {kind:8} {trig.event_name}: {fields}")
    for bucket in t.buckets.values():
        for note in bucket.queue_notifications:
            lines.append(f"  bucket   {bucket.name} -> queue {note.queue}: {', '.join(note.events)} "
                         f"{note.prefix}*{note.suffix}")
    lines.extend(f"  {queue_target(trig)}" for trig in t.queue_targets)
    return lines


def access_lines(stack: Stack) -> list[str]:
    """Function URLs and API keys: where to call, what to send."""
    lines = []
    if stack.function_urls.servers:
        lines.append("  function URLs")
        lines += stack.function_urls.lines()
    if requires_api_key(stack.template):
        lines += [f"  {line}" for line in api_keys(stack.template).lines()]
    if stack.settings.disable_authorizer:
        lines.append("  authorizers and API keys are off (--disable-authorizer)")
    return lines
def queue_target(trig: SnsTrigger | RuleTrigger | ScheduleTrigger) -> str:
    """A subscription, rule target or schedule whose endpoint is a queue, as one line."""
    kind = type(trig).__name__.removesuffix("Trigger").lower()
    fields = ", ".join(f"{k}={v}" for k, v in vars(trig).items()
                       if k not in ("event_name", "queue") and v not in ((), "", None))
    return f"{kind:8} {trig.event_name} -> queue {trig.queue}: {fields}"


def up_lines(stack: Stack) -> list[str]:
    """What `lightbox up` runs, and where: the gateway's routes, the services, each trigger."""
    t, s = stack.template, stack.settings
    lines = [f"lightbox: {t.path} ({len(t.functions)} functions)", f"  gateway     {stack.url}"]
    lines.extend(api_lines(t.apis.values(), stack.url))
    lines += access_lines(stack)
    lines += [f"  SQS API     {s.public_sqs_endpoint}   (AWS_ENDPOINT_URL_SQS for functions)",
              *lambda_lines(s),
              f"  S3          {s.s3_endpoint}{'  (embedded moto server)' if 's3' in stack.embedded else ''}",
              f"  Redis       {s.redis_url}{'  (embedded redis-server)' if 'redis' in stack.embedded else ''}",
              f"  bucket events: {stack.bucket_events_mode}; workers: {len(stack.workers)}",
              *stack.runtime.describe(),
              f"  AWS         {s.cloud_endpoint}{'  (embedded moto server)' if 'cloud' in stack.embedded else ''}"
              "   (AWS_ENDPOINT_URL for functions)",
              f"    from a shell: lightbox aws ...   or   aws --endpoint-url {s.cloud_endpoint} ...",
              *stack.provisioned.lines()]
    for fn in t.functions.values():
        for trig in fn.triggers:
            kind = type(trig).__name__.removesuffix("Trigger")
            if kind != "HttpRoute":
                lines.append(f"    {fn.name:20} {kind}: {', '.join(f'{k}={v}' for k, v in vars(trig).items())}")
    for bucket in t.buckets.values():
        for note in bucket.queue_notifications:
            lines.append(f"    {bucket.name:20} -> queue {note.queue}: events={note.events}, prefix={note.prefix}, "
                         f"suffix={note.suffix}")
    lines.extend(f"    {queue_target(trig)}" for trig in t.queue_targets)
    return lines


def state(stack: Stack) -> dict[str, str | None]:
    """state.json: where a running `lightbox up` serves (for `lightbox status`, `lightbox aws`, tests)."""
    s = stack.settings
    return {"redis_url": s.redis_url, "s3_endpoint": s.s3_endpoint, "url": stack.url,
            "cloud_endpoint": s.cloud_endpoint, "sqs_endpoint": s.public_sqs_endpoint}


def before_start(settings: Settings, reset: bool) -> list[str]:
    return [*(_reset(settings.data_dir) if reset else []), *passthrough_lines(settings)]


def passthrough_lines(settings: Settings) -> list[str]:
    """Said loudly: which services' calls leave this machine, with which credentials."""
    if not settings.passthrough:
        return []
    endpoints = awsenv.passthrough_endpoints(settings.passthrough, config.REGION)
    return ["lightbox: WARNING: --aws-passthrough: functions' calls to these services go to REAL AWS, signed "
            "with your own credentials (AWS_PROFILE, ~/.aws):",
            *(f"lightbox: WARNING:   {var.removeprefix('AWS_ENDPOINT_URL_').lower():16} -> {url}"
              for var, url in endpoints.items()),
            "lightbox: WARNING: the template's resources of these services are not created locally."]


def _reset(data_dir: Path) -> list[str]:
    """--reset: the embedded services' kept state (moto's, Redis's) is removed before they start."""
    gone = [p for p in (data_dir / provisioned.FOLDER, data_dir / "redis") if p.exists()]
    for folder in gone:
        shutil.rmtree(folder)
    return [f"lightbox: --reset: removed {', '.join(map(str, gone)) or 'nothing (no kept state)'}"]
