"""gunicorn settings for the compose `api` service: `gunicorn -c infra/gunicorn.conf.py`.

gthread: every open SSE stream (GET /events) holds one thread for as long as the client stays,
and a plain thread runs the functions' blocking boto3/redis/sqlite code as on Lambda, which
gevent's monkey-patching would not leave alone. threads x workers is the number of concurrent
streams plus requests; raise GUNICORN_THREADS before GUNICORN_WORKERS (each worker loads every
function).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

wsgi_app = "lightbox.stack.wsgi:create_app()"
bind = f"{os.environ.get('LIGHTBOX_HOST', '0.0.0.0')}:{os.environ.get('LIGHTBOX_PORT', '3000')}"
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "100"))
# gthread's heartbeat runs beside the request threads, so a stream open for hours is not a timeout.
timeout = 60
graceful_timeout = 30
keepalive = 75  # longer than a load balancer's idle timeout, so it closes first and never hits a dead socket
accesslog = "-"
control_socket_disable = True  # gunicorn 24+: no control socket in $HOME; compose manages the process
access_log_format = ('{"access": "%(r)s", "status": %(s)s, "bytes": "%(B)s", "ms": %(M)s, '
                     '"remote": "%(h)s", "trace_id": "%({x-amzn-trace-id}i)s"}')

# Workers share one /metrics exposition through files in this directory (prometheus-client's
# multiprocess mode); it must be set before any worker imports prometheus_client.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                      os.path.join(tempfile.gettempdir(), f"lightbox-prometheus-{os.getpid()}"))
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)  # --check-config loads the app without on_starting

logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "lightbox.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
                 "stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        "botocore": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}, "rq": {"level": "WARNING"},
    },
}


def on_starting(server: Any) -> None:
    # Counts left from a previous run of the container would be added to this one's.
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
