"""Emulator settings. Precedence, written once: command-line flag > environment variable > default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from local import defaults

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
}


@dataclass
class Settings:
    template: Path = Path("template.yaml")
    host: str = defaults.HOST
    port: int = defaults.PORT
    workers: int = 2  # two processes: one slow invocation does not stall every queue
    redis_url: str | None = None  # None: start an embedded redis-server
    s3_endpoint: str | None = None  # None: start an embedded S3 server
    sqs_endpoint: str | None = None  # None: this emulator's own /_lightbox/sqs
    bucket_events: str = "auto"  # auto | poll (S3 -> SQS) | webhook (MinIO) | off
    webhook_token: str | None = None
    data_dir: Path = Path(".lightbox")
    retry_base: float = defaults.RETRY_BASE_SECONDS
    hot_reload: bool = True
    parameter_overrides: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, **given: Any) -> Settings:
        """Flags the user gave (not None) > environment > defaults."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if given.get(f.name) is not None:
                values[f.name] = given[f.name]
            elif f.name in ENV_VARS and os.environ.get(ENV_VARS[f.name]):
                values[f.name] = os.environ[ENV_VARS[f.name]]
        settings = cls(**values)
        settings.template = Path(settings.template)
        settings.data_dir = Path(settings.data_dir)
        settings.port = int(settings.port)
        settings.workers = int(settings.workers)
        settings.retry_base = float(settings.retry_base)
        if isinstance(settings.hot_reload, str):
            settings.hot_reload = settings.hot_reload.lower() not in ("0", "false", "no")
        return settings

    @property
    def public_sqs_endpoint(self) -> str:
        return self.sqs_endpoint or f"http://{self.host}:{self.port}{defaults.SQS_PATH}"
