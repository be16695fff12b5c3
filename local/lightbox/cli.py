"""`lightbox up | validate | worker | scheduler | serve | invoke | event generate | status | dlq`.

Every command reads template.yaml in the current directory unless `-t PATH` names another (after
`sam build`, .aws-sam/build/template.yaml when it is newer). Flags fall back to samconfig.toml (as
SAM CLI reads it), then environment variables (lightbox/config.py), then defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from lightbox import config
from lightbox.config import Settings
from lightbox.exceptions import LightboxError, TemplateErrors


def _settings(args: argparse.Namespace, command: str = "local_start_api", announce: bool = False,
              **extra: Any) -> Settings:
    from lightbox.stack.options import command_settings

    return command_settings(args, command, announce, **extra)


def _state_file(settings: Settings) -> Path:
    return settings.data_dir / "state.json"


def cmd_up(args: argparse.Namespace) -> int:
    from lightbox.stack import summary
    from lightbox.stack.up import Stack

    settings = _settings(args, announce=True)
    stack = Stack(settings).start()
    _state_file(settings).parent.mkdir(parents=True, exist_ok=True)
    _state_file(settings).write_text(json.dumps({"redis_url": settings.redis_url, "s3_endpoint": settings.s3_endpoint,
                                                 "url": stack.url}))
    print("\n".join([*summary.up_lines(stack), *summary.finding_lines(stack.template, args.verbose)]))
    print("Ctrl-C stops everything.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Set, not inherited: a shell starting `lightbox up &` leaves SIGINT ignored, and then
    # `kill -INT` (what Ctrl-C sends) would do nothing.
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            if settings.hot_reload:
                for line in stack.reload_if_changed():
                    print(line, flush=True)
            for i, proc in enumerate(stack.workers):
                if proc.poll() is not None:  # a crashed worker is replaced; its job is recovered by RQ
                    logging.getLogger("lightbox").warning("worker %s exited (%s); starting another",
                                                          proc.pid, proc.returncode)
                    stack.workers.pop(i)
                    stack.add_worker()
                    break
    except KeyboardInterrupt:
        pass
    print("lightbox: stopping", flush=True)
    stack.stop()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from redis import Redis

    from lightbox.queueing.worker import event_functions, run_worker
    from lightbox.runtime.environ import install_scoped_environ
    from lightbox.runtime.invoke import build_runtime

    settings = _settings(args)
    if not settings.redis_url:
        raise LightboxError("lightbox worker needs REDIS_URL (or --redis-url)")
    install_scoped_environ()
    _serve_metrics(args)
    runtime = build_runtime(settings)
    runtime.warm(event_functions(runtime.template), wait=True)
    run_worker(runtime, Redis.from_url(settings.redis_url), burst=args.burst)
    return 0


def _serve_metrics(args: argparse.Namespace) -> None:
    port = config.metrics_port(args.metrics_port)
    if port:
        from lightbox.ops.metrics import serve_process_metrics

        serve_process_metrics(port)


def cmd_scheduler(args: argparse.Namespace) -> int:
    """The template's schedules alone (compose runs one of these; `up` runs them in a thread)."""
    from redis import Redis

    from lightbox.eventbridge.rules import schedules
    from lightbox.sqs.queues import Broker
    from lightbox.template.loader import load_for

    settings = _settings(args)
    if not settings.redis_url:
        raise LightboxError("lightbox scheduler needs REDIS_URL (or --redis-url)")
    template = load_for(settings)
    scheduler = schedules(Broker(template, Redis.from_url(settings.redis_url)))
    _serve_metrics(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler.start()
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    scheduler.stop()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from lightbox.apigateway.serve import run

    run(args.function, args.port, args.host, _settings(args))
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    from lightbox.runtime.environ import install_scoped_environ
    from lightbox.runtime.invoke import build_runtime

    settings = _settings(args, command="local_invoke")
    install_scoped_environ()
    runtime = build_runtime(settings)
    text = sys.stdin.read() if args.event in (None, "-") else Path(args.event).read_text()
    event = json.loads(text) if text.strip() else {}
    inv = runtime.invoke(args.function, event, trigger="cli")
    if not inv.ok:
        return 1
    print(json.dumps(inv.result, indent=2, default=str))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Load the template as `up` would; print what will run and what is not emulated."""
    from lightbox.runtime.invoke import runtime_findings
    from lightbox.stack import summary
    from lightbox.template.loader import load_for, refuse_not_emulated

    settings = _settings(args, announce=True)
    template = load_for(settings)
    print("\n".join([*summary.template_lines(template), *summary.finding_lines(template, args.verbose)]))
    if settings.strict:
        try:
            refuse_not_emulated(template, runtime_findings(template))
        except TemplateErrors as exc:
            for line in str(exc).splitlines():
                print(f"lightbox: error: {line}", file=sys.stderr)
            return 1
    return 0


def cmd_event(args: argparse.Namespace) -> int:
    from lightbox.testing import events

    if args.kind == "s3-put":
        event = events.s3_put_event(args.bucket, args.key, size=args.size)
    elif args.kind == "sqs":
        event = events.sqs_event(*(args.body or ["{}"]), queue=args.queue)
    elif args.kind == "http":
        event = events.http_event(args.method, args.path, body=args.body[0] if args.body else None)
    else:
        event = events.schedule_event()
    print(json.dumps(event, indent=2))
    return 0


def _broker(settings: Settings):  # type: ignore[no-untyped-def]
    from redis import Redis

    from lightbox.sqs.queues import Broker
    from lightbox.template.loader import load_for

    state = _state_file(settings)
    url = settings.redis_url or (json.loads(state.read_text())["redis_url"] if state.is_file() else None)
    if not url:
        raise LightboxError("no Redis to ask: run `lightbox up` here first, or set REDIS_URL")
    return Broker(load_for(settings), Redis.from_url(url))


def cmd_status(args: argparse.Namespace) -> int:
    from lightbox import config

    broker = _broker(_settings(args))
    print(f"{'FUNCTION':22} TRIGGERS")
    for fn in broker.template.functions.values():
        kinds = ", ".join(f"{type(t).__name__.removesuffix('Trigger')}:{t.event_name}" for t in fn.triggers)
        print(f"{fn.name:22} {kinds or '-'}")
    print(f"\n{'QUEUE':30} {'WAITING':>8} {'RUNNING':>8} {'RETRYING':>9} {'DLQ':>5}")
    for q in [*broker.queue_names(), config.ASYNC_QUEUE]:
        d = broker.depth(q)
        print(f"{q:30} {d['waiting']:>8} {d['running']:>8} {d['retrying']:>9} {d['dead']:>5}")
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    broker = _broker(_settings(args))
    if args.action == "list":
        for dead in broker.dead_letters(args.queue):
            for m in dead.messages:
                print(json.dumps({"job": dead.job_id, "function": dead.function, "messageId": m.get("messageId"),
                                  "body": m.get("body"), "error": dead.error}))
        return 0
    print(f"replayed {broker.replay(args.queue)} dead letter(s) to {args.queue}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lightbox", description="Run a SAM app's functions and triggers locally.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logs (ignored template properties ...)")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("-t", "--template", help="SAM or CloudFormation template, or a cdk.out folder (env "
                                                 "LIGHTBOX_TEMPLATE; default template.yaml)")
        sp.add_argument("--parameter-overrides", action="append",
                        help="Name=Value ... or ParameterKey=Name,ParameterValue=Value ... (quote values with spaces)")
        sp.add_argument("--env-vars", help="SAM CLI's env.json: function environment overrides (env LIGHTBOX_ENV_VARS)")
        sp.add_argument("--config-file", help="samconfig file (default samconfig.toml next to the template)")
        sp.add_argument("--config-env", help="samconfig environment (default: default)")
        sp.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="debug logs; also list what the template has that changes nothing locally")
        sp.add_argument("--redis-url", help="use this Redis (env REDIS_URL; default: embedded)")
        sp.add_argument("--s3-endpoint", help="use this S3/MinIO (env S3_ENDPOINT_URL; default: embedded)")
        return sp

    up = common(sub.add_parser("up", help="run every function with its triggers"))
    up.add_argument("--host", help="env LIGHTBOX_HOST; default 127.0.0.1")
    up.add_argument("-p", "--port", type=int, help="env LIGHTBOX_PORT; default 3000")
    up.add_argument("-w", "--workers", type=int, help="worker processes (env LIGHTBOX_WORKERS; default 2)")
    up.add_argument("--bucket-events", choices=["auto", "poll", "webhook", "off"])
    up.add_argument("--webhook-token", help="MinIO webhook bearer token (env LIGHTBOX_WEBHOOK_TOKEN)")
    up.add_argument("--strict", action="store_true", help="refuse to start when anything is not emulated")
    up.add_argument("--warm", action="store_true", default=None,
                    help="start one execution environment per function now (env LIGHTBOX_WARM)")
    up.set_defaults(func=cmd_up)

    validate = common(sub.add_parser("validate", help="load the template; say what runs and what is not emulated"))
    validate.add_argument("--strict", action="store_true", help="exit 1 when anything is not emulated")
    validate.set_defaults(func=cmd_validate)

    worker = common(sub.add_parser("worker", help="run queue and async invocations (one process)"))
    worker.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    worker.add_argument("--metrics-port", type=int, help="serve Prometheus metrics here (env LIGHTBOX_METRICS_PORT)")
    worker.set_defaults(func=cmd_worker)

    scheduler = common(sub.add_parser("scheduler", help="fire the template's schedules (one process per stack)"))
    scheduler.add_argument("--metrics-port", type=int, help="serve Prometheus metrics here (env LIGHTBOX_METRICS_PORT)")
    scheduler.set_defaults(func=cmd_scheduler)

    serve = common(sub.add_parser("serve", help="host one HTTP function alone with functions-framework"))
    serve.add_argument("function")
    serve.add_argument("--host", help="env LIGHTBOX_HOST; default 0.0.0.0")
    serve.add_argument("-p", "--port", type=int, help="env PORT (as Cloud Run sets it); default 8080")
    serve.set_defaults(func=cmd_serve)

    invoke = common(sub.add_parser("invoke", help="invoke one function once with an event"))
    invoke.add_argument("function")
    invoke.add_argument("-e", "--event", help="event JSON file, or - for stdin")
    invoke.set_defaults(func=cmd_invoke)

    event = sub.add_parser("event", help="print sample events")
    ev = event.add_subparsers(dest="action", required=True).add_parser("generate", help="AWS-shaped event JSON")
    ev.add_argument("kind", choices=["s3-put", "sqs", "http", "schedule"])
    ev.add_argument("--bucket", default="example-bucket")
    ev.add_argument("--key", default="test/key.jpg")
    ev.add_argument("--size", type=int, default=1024)
    ev.add_argument("--queue", default="my-queue")
    ev.add_argument("--method", default="GET")
    ev.add_argument("--path", default="/")
    ev.add_argument("--body", action="append", help="message or request body (repeat for several messages)")
    ev.set_defaults(func=cmd_event)

    status = common(sub.add_parser("status", help="functions, triggers, queue depths, DLQ counts"))
    status.set_defaults(func=cmd_status)

    dlq = common(sub.add_parser("dlq", help="list or replay dead letters"))
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("queue", help="the source queue or its dead-letter queue")
    dlq.set_defaults(func=cmd_dlq)
    return p


def main(argv: list[str] | None = None) -> int:
    from lightbox import logs

    args = parser().parse_args(argv)
    logs.configure(logging.DEBUG if args.verbose else logging.INFO)  # JSON with LIGHTBOX_LOG_FORMAT=json
    try:
        return int(args.func(args))
    except LightboxError as exc:
        for line in str(exc).splitlines():  # one line per error: several come at once from a template
            print(f"lightbox: error: {line}", file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"lightbox: error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
