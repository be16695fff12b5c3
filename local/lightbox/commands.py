"""What each `lightbox` command does; cli.py holds their flags and the entry point."""

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
    from lightbox.stack import folder_lock, summary
    from lightbox.stack.up import Stack

    settings = _settings(args, announce=True)
    folder_lock.hold(settings.data_dir)  # before --reset removes anything another stack may be using
    for line in summary.before_start(settings, reset=args.reset):
        print(line, flush=True)
    stack = Stack(settings).start()
    _state_file(settings).parent.mkdir(parents=True, exist_ok=True)
    _state_file(settings).write_text(json.dumps(summary.state(stack)))
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
    from lightbox.eventsources.mappings import QueueNudge
    from lightbox.sqs.queues import Broker
    from lightbox.template.loader import load_for

    settings = _settings(args)
    if not settings.redis_url:
        raise LightboxError("lightbox scheduler needs REDIS_URL (or --redis-url)")
    template = load_for(settings)
    broker = Broker(template, Redis.from_url(settings.redis_url))
    scheduler = schedules(broker)
    nudge = QueueNudge(broker)  # as `up` runs it: a queue with messages waiting always gets a receive
    _serve_metrics(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler.start()
    nudge.start()
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    for thread in (scheduler, nudge):
        thread.stop()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from lightbox.apigateway.serve import run

    run(args.function, args.port, args.host, _settings(args))
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    from lightbox.runtime.environ import install_scoped_environ
    from lightbox.runtime.invoke import build_runtime
    from lightbox.runtime.runtimes import node_sdk

    settings = _settings(args, command="local_invoke")
    install_scoped_environ()
    runtime = build_runtime(settings)
    for line in node_sdk.ensure(runtime.template.functions.values()):
        print(line, file=sys.stderr)
    for line in runtime.debug_lines():
        print(line.strip(), file=sys.stderr)
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
    from lightbox import samples

    print(json.dumps(samples.generate(args), indent=2))
    return 0


def cmd_event_put(args: argparse.Namespace) -> int:
    from lightbox.stack.delivery import put_event

    out = put_event(_state_file(Settings.load()), args.source, args.detail_type, args.detail, args.bus, args.resource)
    print(json.dumps(out))
    return 1 if out["FailedEntryCount"] else 0


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
    from lightbox.eventsources.mappings import status_lines

    print("\n".join(status_lines(broker)))
    return 0


def cmd_aws(args: argparse.Namespace) -> int:
    from lightbox.stack.awscli import run_aws

    return run_aws(_state_file(_settings(args)), args.aws_args)


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
