"""The gateway as a WSGI app for a production server: `gunicorn 'lightbox.stack.wsgi:create_app()'`.

What `lightbox up` serves on its port, minus what compose runs elsewhere: Redis and S3 are
services (REDIS_URL and S3_ENDPOINT_URL are required), workers and the scheduler are their own
containers, and bucket events arrive through MinIO's webhook. rq-dashboard is mounted at
/_lightbox/rq so the queues can be watched on the API's port.
"""

from __future__ import annotations

import logging

from flask import Flask
from redis import Redis

from lightbox import logs
from lightbox.apigateway import gateway
from lightbox.apigateway.access import access_steps
from lightbox.cloudformation.provision import provision_for
from lightbox.config import Settings
from lightbox.exceptions import LightboxError
from lightbox.ops import access
from lightbox.runtime.environ import install_scoped_environ
from lightbox.runtime.invoke import build_runtime
from lightbox.sqs.queues import Broker
from lightbox.stack.up import emulator_blueprints
from lightbox.template.loader import load_for

log = logging.getLogger(__name__)

DASHBOARD_PATH = "/_lightbox/rq"


def mount_dashboard(app: Flask, redis_url: str, prefix: str = DASHBOARD_PATH) -> None:
    """rq-dashboard's blueprint on this app, reading jobs with the JSON serializer the broker writes."""
    import rq_dashboard
    from rq.serializers import JSONSerializer
    from rq_dashboard import web

    # rq-dashboard keeps its serializer in module state; pickle (its default) cannot read our jobs.
    web.config.serializer = JSONSerializer
    app.config["RQ_DASHBOARD_REDIS_URL"] = redis_url
    web.setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=prefix)


def create_app(settings: Settings | None = None) -> Flask:
    logs.configure()
    s = settings or Settings.load()
    if not s.redis_url or not s.s3_endpoint:
        # Embedded services belong to `lightbox up`; a server behind gunicorn must share real ones.
        raise LightboxError("lightbox.stack.wsgi needs REDIS_URL and S3_ENDPOINT_URL "
                            "(use `lightbox up` for embedded ones)")
    install_scoped_environ()
    if s.cloud_endpoint:  # compose's cloud service: the template's resources, before any function loads
        for line in provision_for(s, load_for(s)).lines():
            log.info("lightbox cloud: %s", line.strip())
    runtime = build_runtime(s)
    for name in runtime.template.functions:  # a handler that cannot be imported fails the boot, not a request
        runtime.load(name)
    broker = Broker(runtime.template, Redis.from_url(s.redis_url), s.retry_base)
    app = gateway.create_app(runtime, emulator_blueprints(s, runtime, broker), steps=access_steps(s),
                             broker=broker)
    mount_dashboard(app, s.redis_url)
    access.protect_operator_endpoints(app, runtime)
    log.info("lightbox gateway: %s (%d functions)", s.template, len(runtime.template.functions))
    return app
