"""What `lightbox up` and `lightbox validate` print about a template: what will run, and one line
for each thing that changes behaviour and is not emulated."""

from __future__ import annotations

import os
from pathlib import Path

from lightbox.runtime.invoke import runtime_findings, unsupported
from lightbox.runtime.runtimes.support import version_warnings
from lightbox.stack.up import Stack
from lightbox.template.model import Finding, HttpRoute, Template


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
    return lines


def up_lines(stack: Stack) -> list[str]:
    """What `lightbox up` runs, and where: the gateway's routes, the services, each trigger."""
    t, s = stack.template, stack.settings
    lines = [f"lightbox: {t.path} ({len(t.functions)} functions)", f"  gateway     {stack.url}"]
    lines.extend(f"    {route.method:7} {stack.url}{route.path}  -> {fn.name}"
                 for fn, route in sorted(t.routes(), key=lambda r: r[1].path))
    lines += [f"  SQS API     {s.public_sqs_endpoint}   (AWS_ENDPOINT_URL_SQS for functions)",
              f"  S3          {s.s3_endpoint}{'  (embedded moto server)' if 's3' in stack.embedded else ''}",
              f"  Redis       {s.redis_url}{'  (embedded redis-server)' if 'redis' in stack.embedded else ''}",
              f"  bucket events: {stack.bucket_events_mode}; workers: {len(stack.workers)}",
              *stack.runtime.describe()]
    for fn in t.functions.values():
        for trig in fn.triggers:
            kind = type(trig).__name__.removesuffix("Trigger")
            if kind != "HttpRoute":
                lines.append(f"    {fn.name:20} {kind}: {', '.join(f'{k}={v}' for k, v in vars(trig).items())}")
    for bucket in t.buckets.values():
        for note in bucket.queue_notifications:
            lines.append(f"    {bucket.name:20} -> queue {note.queue}: events={note.events}, prefix={note.prefix}, "
                         f"suffix={note.suffix}")
    return lines
