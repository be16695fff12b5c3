"""Every setting of the emulator and every environment variable it reads, in one place.

Precedence, written once: command-line flag > environment variable > default. `child_env` is
the way back: the environment that gives a child process (a worker, `lightbox serve`) the same
settings.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from lightbox import awsenv
from lightbox.exceptions import LightboxError
from lightbox.overrides import parse_parameter_overrides

# -- defaults, each with the reason it has that value -------------------------------------------
# SAM CLI serves `sam local start-api` on 3000; users' scripts and docs expect it.
HOST = "127.0.0.1"
PORT = 3000
# The emulator serves the SQS producer API under this path of its own port.
SQS_PATH = "/_lightbox/sqs"
SQS_ENDPOINT = f"http://{HOST}:{PORT}{SQS_PATH}"
# moto and LocalStack use these; any value works as long as ARNs and URLs agree.
REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
# Local servers accept any credentials, but AWS SDKs refuse to sign without some.
ACCESS_KEY_ID = "lightbox"
SECRET_ACCESS_KEY = "lightbox"
# Lambda's own defaults when a template omits them.
FUNCTION_TIMEOUT = 3.0
FUNCTION_MEMORY_SIZE = 128
VISIBILITY_TIMEOUT = 30
SQS_BATCH_SIZE = 10
# S3 -> Lambda and EventBridge -> Lambda are asynchronous invokes: Lambda retries twice (a function's
# EventInvokeConfig.MaximumRetryAttempts says 0-2), and drops an event six hours old (MaximumEventAgeInSeconds).
ASYNC_RETRIES = 2
ASYNC_MAX_EVENT_AGE_SECONDS = 6 * 3600
ASYNC_QUEUE = "lightbox-async"
# First retry delay for a failed queue message; doubles each attempt (SQS has no backoff of its
# own, it waits VisibilityTimeout, which is too slow to develop against). It also stands for the
# minute Lambda waits before retrying a failed asynchronous invoke (then two).
RETRY_BASE_SECONDS = 1.0
# A worker killed mid-job leaves it "started"; after this grace past its timeout another
# worker's maintenance puts it back on the queue.
ABANDONED_GRACE_SECONDS = 5
MAINTENANCE_INTERVAL_SECONDS = 5
# Hot reload checks source mtimes at most this often, so a busy function pays almost nothing.
RELOAD_CHECK_SECONDS = 0.5
# A warm sandbox thread idle this long ends, as Lambda reclaims an idle execution environment.
SANDBOX_IDLE_SECONDS = 300.0
# Bucket-notification queue the emulator creates on the embedded S3 server.
BUCKET_EVENTS_QUEUE = "lightbox-bucket-events"
# `lightbox serve`: Cloud Run's contract is PORT, default 8080, listening beyond loopback.
SERVE_PORT = 8080
SERVE_HOST = "0.0.0.0"
# SigV4: a request signed longer ago than this is refused with RequestExpired, as AWS does.
SIGNATURE_MAX_AGE_SECONDS = 15 * 60

# Execution environments (runtime/environments): how many of one function may run at once when
# the template reserves no concurrency. Lambda's account default is 1000; each environment here is
# a process (about 20-60 MB), so the local cap is lower: enough for a developer's parallel requests.
MAX_CONCURRENCY = 16
MAX_CONCURRENCY_VAR = "LIGHTBOX_MAX_CONCURRENCY"
# An environment idle this long ends (Lambda reclaims idle environments after minutes, unpredictably).
IDLE_MINUTES = 5.0
IDLE_MINUTES_VAR = "LIGHTBOX_IDLE_MINUTES"
# MemorySize is enforced as Lambda does (the environment is killed: Runtime.OutOfMemory); "0" turns
# it off for code that must run over its size locally (a profiler, a debugger).
ENFORCE_MEMORY_VAR = "LIGHTBOX_ENFORCE_MEMORY"
# The Python runtime interface client: "lightbox" (ours, default: see docs/environments.md) or
# "awslambdaric" (AWS's, when installed: `pip install awslambdaric`).
PYTHON_RIC_VAR = "LIGHTBOX_PYTHON_RIC"
# "process" (default): functions run in execution environments; "thread": on threads of the
# emulator's process, as before environments (an A/B baseline, and a way back if one is needed).
ISOLATION_VAR = "LIGHTBOX_ISOLATION"

# -- environment variables read outside Settings ------------------------------------------------
# Each setting's environment variable; the CLI flag of the same name overrides it.
ENV_VARS = {
    "template": "LIGHTBOX_TEMPLATE",
    "host": "LIGHTBOX_HOST",
    "port": "LIGHTBOX_PORT",
    "workers": "LIGHTBOX_WORKERS",
    "redis_url": "REDIS_URL",
    "s3_endpoint": "S3_ENDPOINT_URL",
    "sqs_endpoint": "LIGHTBOX_SQS_ENDPOINT",
    "bucket_events": "LIGHTBOX_BUCKET_EVENTS",
    "webhook_token": "LIGHTBOX_WEBHOOK_TOKEN",
    "data_dir": "LIGHTBOX_DATA_DIR",
    "retry_base": "LIGHTBOX_RETRY_BASE_SECONDS",
    "hot_reload": "LIGHTBOX_HOT_RELOAD",
    "env_vars": "LIGHTBOX_ENV_VARS",
    "stack_name": "LIGHTBOX_STACK_NAME",
    "strict": "LIGHTBOX_STRICT",
    "warm": "LIGHTBOX_WARM",
    "lambda_endpoint": "LIGHTBOX_LAMBDA_ENDPOINT",
    "disable_authorizer": "LIGHTBOX_DISABLE_AUTHORIZER",
    "jwks": "LIGHTBOX_JWKS",
    "function_urls": "LIGHTBOX_FUNCTION_URLS",
    "cloud_endpoint": "LIGHTBOX_CLOUD_ENDPOINT",
    "aws_passthrough": "LIGHTBOX_AWS_PASSTHROUGH",
    "verify_signatures": "LIGHTBOX_VERIFY_SIGNATURES",
    "debug": "LIGHTBOX_DEBUG",
    "debug_host": "LIGHTBOX_DEBUG_HOST",
}
# Name=Value pairs, space separated, as --parameter-overrides takes them (compose gives every service one).
PARAMETER_OVERRIDES_VAR = "LIGHTBOX_PARAMETER_OVERRIDES"
# "json" for one JSON object per log line (servers); anything else is readable text.
LOG_FORMAT_VAR = "LIGHTBOX_LOG_FORMAT"
# A port for the Prometheus exposition of a process with no HTTP server of its own (worker, scheduler).
METRICS_PORT_VAR = "LIGHTBOX_METRICS_PORT"
# prometheus-client's own: the directory gunicorn's workers share their counters through.
PROMETHEUS_MULTIPROC_VAR = "PROMETHEUS_MULTIPROC_DIR"
# Bearer token (or Basic password) for the operator endpoints: rq-dashboard, metrics (ops/access.py).
OPERATOR_TOKEN_VAR = "LIGHTBOX_OPERATOR_TOKEN"
# Files the health check opens read-only (os.pathsep separated): the databases a deployment's functions share.
HEALTH_FILES_VAR = "LIGHTBOX_HEALTH_FILES"
# `lightbox serve`: which function, and Cloud Run's PORT.
SERVE_FUNCTION_VAR = "LIGHTBOX_SERVE_FUNCTION"
SERVE_PORT_VAR = "PORT"
# Where destinations on SNS, EventBridge and queues outside the template are sent (the embedded moto
# server); unset, the S3 endpoint, which is that server under `lightbox up`.
CLOUD_ENDPOINT_VAR = "LIGHTBOX_CLOUD_ENDPOINT"
# The file descriptor of the parent's lifeline pipe, in a child `lightbox` process (services/supervision.py).
LIFELINE_VAR = "LIGHTBOX_LIFELINE_FD"
# Ctrl-C and SIGTERM stop everything `lightbox up` started within 5 s: workers finish their current
# invocation within this grace (or are killed; RQ runs the job again later), services get the rest.
WORKER_STOP_SECONDS = 3.0
SERVICE_STOP_SECONDS = 1.0
STATE_SAVE_SECONDS = 4.0  # a moto server writing its state on stop (services/snapshots.py)
# Credentials functions and the emulator's own clients sign with; any value works locally.
ACCESS_KEY_VAR = "AWS_ACCESS_KEY_ID"
SECRET_KEY_VAR = "AWS_SECRET_ACCESS_KEY"
# The user's profile selection: never passed to a function (its config files are pointed at nothing,
# so a profile named here would not even be found), unless --aws-passthrough asks for real AWS.
USER_PROFILE_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


@dataclass
class Settings:
    template: Path = Path("template.yaml")
    host: str = HOST
    port: int = PORT
    workers: int = 2  # two processes: one slow invocation does not stall every queue
    redis_url: str | None = None  # None: start an embedded redis-server
    s3_endpoint: str | None = None  # None: start an embedded S3 server
    sqs_endpoint: str | None = None  # None: this emulator's own /_lightbox/sqs
    bucket_events: str = "auto"  # auto | poll (S3 -> SQS) | webhook (MinIO) | off
    webhook_token: str | None = None
    data_dir: Path = Path(".lightbox")
    retry_base: float = RETRY_BASE_SECONDS
    hot_reload: bool = True
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    env_vars: Path | None = None  # SAM CLI's --env-vars file: function environment overrides
    stack_name: str | None = None  # AWS::StackName; None: the template's folder name
    strict: bool = False  # what is not emulated refuses the template instead of a line at start
    warm: bool = False  # one execution environment per function started up front (SAM's EAGER)
    lambda_endpoint: str | None = None  # None: this emulator's own port serves the Lambda Invoke API
    # SAM CLI's --disable-authorizer: routes answer without their Lambda/JWT authorizers and API keys.
    disable_authorizer: bool = False
    # JWT authorizers' signing keys (a JWKS URL or file) for every issuer; None: each issuer's OpenID
    # discovery document, as API Gateway finds them.
    jwks: str | None = None
    # Each function URL's AWS address (what !GetAtt Url.FunctionUrl gives) -> its local URL; `up` chooses the
    # ports and gives them to every process it starts (JSON in LIGHTBOX_FUNCTION_URLS).
    function_urls: dict[str, str] = field(default_factory=dict)
    cloud_endpoint: str | None = None  # every other AWS service; None: the embedded moto server
    aws_passthrough: str = ""  # services (boto3 names, comma separated) whose calls go to real AWS
    verify_signatures: bool = False  # the emulator's AWS endpoints check SigV4 against the credentials
    debug: str | None = None  # `--debug FUNCTION[:PORT]` (template/debug.py)
    # The pid of the process whose environment of the debugged function the debugger attaches to (`up`'s);
    # the others (workers) send that function's invocations to it through the Invoke API.
    debug_host: str | None = None

    @classmethod
    def load(cls, **given: Any) -> Settings:
        """Flags the user gave (not None) > environment > defaults."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if given.get(f.name) is not None:
                values[f.name] = given[f.name]
            elif f.name in ENV_VARS and os.environ.get(ENV_VARS[f.name]):
                values[f.name] = os.environ[ENV_VARS[f.name]]
        if "parameter_overrides" not in values:
            values["parameter_overrides"] = parameter_overrides(None)
        settings = cls(**values)
        settings.template = Path(settings.template)
        settings.data_dir = Path(settings.data_dir)
        settings.port = int(settings.port)
        settings.workers = int(settings.workers)
        settings.retry_base = float(settings.retry_base)
        if settings.env_vars is not None:
            settings.env_vars = Path(settings.env_vars)
        if isinstance(settings.function_urls, str):
            settings.function_urls = json.loads(settings.function_urls)
        for flag in ("hot_reload", "strict", "warm", "disable_authorizer", "verify_signatures"):
            if isinstance(getattr(settings, flag), str):
                setattr(settings, flag, getattr(settings, flag).lower() not in ("0", "false", "no"))
        return settings

    @property
    def public_sqs_endpoint(self) -> str:
        return self.sqs_endpoint or f"http://{self.host}:{self.port}{SQS_PATH}"

    @property
    def public_lambda_endpoint(self) -> str:
        """Where the Lambda Invoke API answers: AWS_ENDPOINT_URL_LAMBDA, `aws lambda invoke --endpoint-url`."""
        return self.lambda_endpoint or f"http://{self.host}:{self.port}"

    @property
    def passthrough(self) -> list[str]:
        return sorted({s.strip().lower() for s in self.aws_passthrough.split(",") if s.strip()})


def parameter_overrides(values: list[str] | None) -> dict[str, str]:
    """--parameter-overrides, else LIGHTBOX_PARAMETER_OVERRIDES (see parse_parameter_overrides)."""
    if not values and os.environ.get(PARAMETER_OVERRIDES_VAR):
        values = [os.environ[PARAMETER_OVERRIDES_VAR]]
    out: dict[str, str] = {}
    for item in values or []:
        out.update(parse_parameter_overrides(item))
    return out


def child_env(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment that gives a child `lightbox` process these settings (the reverse of load)."""
    env = dict(os.environ if base is None else base)
    values: dict[str, Any] = {
        "template": settings.template, "redis_url": settings.redis_url, "s3_endpoint": settings.s3_endpoint,
        "sqs_endpoint": settings.public_sqs_endpoint, "retry_base": settings.retry_base,
        "hot_reload": "1" if settings.hot_reload else "0", "webhook_token": settings.webhook_token,
        "env_vars": settings.env_vars.resolve() if settings.env_vars else None, "stack_name": settings.stack_name,
        "data_dir": settings.data_dir.resolve(), "warm": "1" if settings.warm else None,
        "lambda_endpoint": settings.public_lambda_endpoint,
        "disable_authorizer": "1" if settings.disable_authorizer else None, "jwks": settings.jwks,
        "cloud_endpoint": settings.cloud_endpoint,
        "aws_passthrough": settings.aws_passthrough or None,
        "verify_signatures": "1" if settings.verify_signatures else None,
        "debug": settings.debug, "debug_host": settings.debug_host,
    }
    for name, value in values.items():
        if value is not None:
            env[ENV_VARS[name]] = str(value)
    if settings.function_urls:
        env[ENV_VARS["function_urls"]] = json.dumps(settings.function_urls)
    if settings.parameter_overrides:
        env[PARAMETER_OVERRIDES_VAR] = shlex.join(f"{k}={v}" for k, v in settings.parameter_overrides.items())
    return env


def credentials() -> tuple[str, str]:
    """What the emulator's own clients sign with: the user's, else any (local servers check none)."""
    return (os.environ.get(ACCESS_KEY_VAR, ACCESS_KEY_ID), os.environ.get(SECRET_KEY_VAR, SECRET_ACCESS_KEY))


def function_env(settings: Settings) -> dict[str, str]:
    """What every function gets from the emulator so plain AWS SDK code reaches local services only:
    AWS_ENDPOINT_URL for every service (the embedded moto server), the emulator's own S3 and SQS
    endpoints, fake credentials, and the user's config files pointed at nothing (function_overlay
    drops the user's AWS_PROFILE). With --aws-passthrough the named services go to AWS and the
    user's own credentials are left in place: local servers accept any."""
    key, secret = credentials()
    env = {"AWS_ENDPOINT_URL_SQS": settings.public_sqs_endpoint,
           "AWS_ENDPOINT_URL_LAMBDA": settings.public_lambda_endpoint}
    if settings.cloud_endpoint:
        env["AWS_ENDPOINT_URL"] = settings.cloud_endpoint
    if settings.s3_endpoint:
        env["AWS_ENDPOINT_URL_S3"] = settings.s3_endpoint
    if settings.passthrough:
        env.update(awsenv.passthrough_endpoints(settings.passthrough, REGION))
        env.update({k: os.environ[k] for k in (ACCESS_KEY_VAR, SECRET_KEY_VAR, *USER_PROFILE_VARS) if k in os.environ})
    else:
        env.update({ACCESS_KEY_VAR: key, SECRET_KEY_VAR: secret,
                    "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                    "AWS_EC2_METADATA_DISABLED": "true"})  # no credentials from an instance either
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    return env


def max_concurrency() -> int:
    return int(os.environ.get(MAX_CONCURRENCY_VAR) or MAX_CONCURRENCY)


def idle_seconds() -> float:
    return float(os.environ.get(IDLE_MINUTES_VAR) or IDLE_MINUTES) * 60


def enforce_memory() -> bool:
    return os.environ.get(ENFORCE_MEMORY_VAR, "1").lower() not in ("0", "false", "no", "off")


def isolation() -> str:
    value = (os.environ.get(ISOLATION_VAR) or "process").lower()
    if value not in ("process", "thread"):
        raise LightboxError(f"{ISOLATION_VAR}={value!r}: expected process or thread")
    return value


def python_ric() -> str:
    return os.environ.get(PYTHON_RIC_VAR) or "lightbox"


def cloud_endpoint() -> str | None:
    return os.environ.get(CLOUD_ENDPOINT_VAR) or os.environ.get(ENV_VARS["s3_endpoint"]) or None
def function_overlay(base: Mapping[str, str], variables: Mapping[str, str]) -> dict[str, str]:
    """A function's whole environment: the process's, without the user's AWS profile selection
    (unless the function's own variables set it), plus the function's variables."""
    return {**{k: v for k, v in base.items() if k not in USER_PROFILE_VARS}, **variables}


def operator_token() -> str | None:
    return os.environ.get(OPERATOR_TOKEN_VAR) or None


def verify_signatures() -> bool:
    """LIGHTBOX_VERIFY_SIGNATURES, for processes that have no Settings (the embedded moto server)."""
    return os.environ.get(ENV_VARS["verify_signatures"], "").lower() not in ("", "0", "false", "no")


def json_logging_wanted() -> bool:
    return os.environ.get(LOG_FORMAT_VAR, "text").lower() == "json"


def metrics_port(given: int | None = None) -> int | None:
    value = given or os.environ.get(METRICS_PORT_VAR)
    return int(value) if value else None


def multiprocess_metrics_dir() -> str | None:
    return os.environ.get(PROMETHEUS_MULTIPROC_VAR) or None


def health_files() -> list[Path]:
    return [Path(p) for p in os.environ.get(HEALTH_FILES_VAR, "").split(os.pathsep) if p]


def serve_function() -> str | None:
    return os.environ.get(SERVE_FUNCTION_VAR) or None


def serve_address(port: int | None, host: str | None) -> tuple[str, int]:
    """--host > LIGHTBOX_HOST > 0.0.0.0; --port > PORT (Cloud Run's contract) > 8080."""
    return (host or os.environ.get(ENV_VARS["host"]) or SERVE_HOST,
            port or int(os.environ.get(SERVE_PORT_VAR) or SERVE_PORT))
