"""`lightbox up | validate | worker | scheduler | serve | invoke | event generate | status | dlq`.

Every command reads template.yaml in the current directory unless `-t PATH` names another (after
`sam build`, .aws-sam/build/template.yaml when it is newer). Flags fall back to samconfig.toml (as
SAM CLI reads it), then environment variables (lightbox/config.py), then defaults.
"""

from __future__ import annotations

import argparse
import logging
import sys

from lightbox import commands
from lightbox.exceptions import LightboxError

DEBUG_HELP = ("run this function's environment under a debugger (debugpy; node --inspect) waiting for an "
              "attach on PORT (default 5678); its Timeout is suspended (env LIGHTBOX_DEBUG)")


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
    up.add_argument("--disable-authorizer", action="store_true", default=None,
                    help="answer routes without their authorizers and API keys, as SAM CLI's flag does "
                         "(env LIGHTBOX_DISABLE_AUTHORIZER)")
    up.add_argument("--jwks", help="JWT authorizers' signing keys, a JWKS URL or file (env LIGHTBOX_JWKS; "
                                   "default: each issuer's /.well-known/openid-configuration)")
    up.add_argument("--aws-passthrough", metavar="SERVICE,...", help="send functions' calls to these services "
                    "(boto3 names) to REAL AWS with your credentials (env LIGHTBOX_AWS_PASSTHROUGH; default: none)")
    up.add_argument("--reset", action="store_true", help="start from empty services (tables, objects, jobs ...)")
    up.add_argument("--debug", metavar="FUNCTION[:PORT]", help=DEBUG_HELP)
    up.set_defaults(func=commands.cmd_up)

    aws = sub.add_parser("aws", help="the AWS CLI against the running `lightbox up` (aws --endpoint-url ...)")
    aws.add_argument("aws_args", nargs=argparse.REMAINDER, help="what `aws` takes: dynamodb list-tables ...")
    aws.set_defaults(func=commands.cmd_aws)

    validate = common(sub.add_parser("validate", help="load the template; say what runs and what is not emulated"))
    validate.add_argument("--strict", action="store_true", help="exit 1 when anything is not emulated")
    validate.set_defaults(func=commands.cmd_validate)

    worker = common(sub.add_parser("worker", help="run queue and async invocations (one process)"))
    worker.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    worker.add_argument("--metrics-port", type=int, help="serve Prometheus metrics here (env LIGHTBOX_METRICS_PORT)")
    worker.set_defaults(func=commands.cmd_worker)

    scheduler = common(sub.add_parser("scheduler", help="fire the template's schedules (one process per stack)"))
    scheduler.add_argument("--metrics-port", type=int, help="serve Prometheus metrics here (env LIGHTBOX_METRICS_PORT)")
    scheduler.set_defaults(func=commands.cmd_scheduler)

    serve = common(sub.add_parser("serve", help="host one HTTP function alone with functions-framework"))
    serve.add_argument("function")
    serve.add_argument("--host", help="env LIGHTBOX_HOST; default 0.0.0.0")
    serve.add_argument("-p", "--port", type=int, help="env PORT (as Cloud Run sets it); default 8080")
    serve.set_defaults(func=commands.cmd_serve)

    invoke = common(sub.add_parser("invoke", help="invoke one function once with an event"))
    invoke.add_argument("function")
    invoke.add_argument("-e", "--event", help="event JSON file, or - for stdin")
    invoke.add_argument("--debug", metavar="FUNCTION[:PORT]", help=DEBUG_HELP)
    invoke.set_defaults(func=commands.cmd_invoke)

    event = sub.add_parser("event", help="print sample events")
    actions = event.add_subparsers(dest="action", required=True)
    ev = actions.add_parser("generate", help="AWS-shaped event JSON")
    from lightbox import samples

    samples.add_arguments(ev)
    ev.set_defaults(func=commands.cmd_event)
    put = actions.add_parser("put", help="put an event on a bus of the running `lightbox up` (PutEvents)")
    put.add_argument("--source", required=True)
    put.add_argument("--detail-type", required=True)
    put.add_argument("--detail", default="{}", help="the event's detail, JSON")
    put.add_argument("--bus", default="default", help="event bus name or ARN (default: default)")
    put.add_argument("--resource", action="append", default=[], help="a resource ARN (repeat for several)")
    put.set_defaults(func=commands.cmd_event_put)

    status = common(sub.add_parser("status", help="functions, triggers, queue depths, DLQ counts"))
    status.set_defaults(func=commands.cmd_status)

    dlq = common(sub.add_parser("dlq", help="list or replay dead letters"))
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("queue", help="the source queue or its dead-letter queue")
    dlq.set_defaults(func=commands.cmd_dlq)
    return p


def main(argv: list[str] | None = None) -> int:
    from lightbox import logs
    from lightbox.services.supervision import follow_lifeline

    follow_lifeline()  # a worker `lightbox up` started ends with it, however that ends
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv[:1] if argv[:1] == ["aws"] else argv)
    if argv[:1] == ["aws"]:  # all that follows is the AWS CLI's, its own options (--output ...) first too
        args.aws_args = argv[1:]
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
