"""SNS and EventBridge deliveries in `lightbox up`: where the embedded moto server hands over what is
published and put (services/published.py), the endpoints that take it (sns/, eventbridge/), and
the topics and buses the template's subscriptions and rules need on the moto server."""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from flask import Blueprint

from lightbox import config
from lightbox.config import Settings
from lightbox.eventbridge import bus
from lightbox.exceptions import LightboxError
from lightbox.sns import delivery as sns
from lightbox.sqs.queues import Broker
from lightbox.template.model import RuleTrigger, SnsTrigger, Template

log = logging.getLogger("lightbox")


def hook_url(settings: Settings) -> str:
    """The gateway's address for the moto server (on the same machine): loopback when `up` listens on
    every address, else the one address it listens on."""
    host = "127.0.0.1" if settings.host in ("", "0.0.0.0", "::") else settings.host
    return f"http://{host}:{settings.port}/_lightbox/published"


def blueprints(broker: Broker) -> list[Blueprint]:
    return [sns.blueprint(broker), bus.blueprint(broker)]


def connect(template: Template, endpoint: str, embedded: bool) -> None:
    """On the embedded moto server: the topics and buses exist. On another S3 endpoint (MinIO, a moto
    server of one's own) nothing hands what is published over: said once, loudly."""
    if embedded:
        ensure_topics_and_buses(template, endpoint)
        return
    triggers = [*(t for f in template.functions.values() for t in f.triggers), *template.queue_targets]
    if any(isinstance(t, SnsTrigger | RuleTrigger) for t in triggers):
        log.warning("lightbox: SNS subscriptions and EventBridge rules are delivered only with the embedded moto "
                    "server; with --s3-endpoint %s, what is published or put reaches none of them", endpoint)


def ensure_topics_and_buses(template: Template, endpoint: str) -> None:
    """Each topic a subscription names and each custom bus a rule is on exists on the moto server, so a
    Publish or PutEvents to it is accepted (creating one that exists changes nothing)."""
    triggers = [*(t for f in template.functions.values() for t in f.triggers), *template.queue_targets]
    topics = {t.topic for t in triggers if isinstance(t, SnsTrigger)}
    topics.update(r.physical_name for r in template.resources.values() if r.type == "AWS::SNS::Topic")
    buses = {t.bus for t in triggers if isinstance(t, RuleTrigger)}
    buses.update(r.physical_name for r in template.resources.values() if r.type == "AWS::Events::EventBus")
    buses.discard("default")
    if not topics and not buses:
        return
    key, secret = config.credentials()  # the configured ones: the server may verify signatures
    kwargs = {"endpoint_url": endpoint, "region_name": template.region, "aws_access_key_id": key,
              "aws_secret_access_key": secret}
    sns_client, events = boto3.client("sns", **kwargs), boto3.client("events", **kwargs)
    for topic in sorted(topics):
        sns_client.create_topic(Name=topic, **({"Attributes": {"FifoTopic": "true"}} if topic.endswith(".fifo")
                                              else {}))
    for name in sorted(buses):
        with contextlib.suppress(ClientError):  # it exists already
            events.create_event_bus(Name=name)



def put_event(state: Path, source: str, detail_type: str, detail: str, bus: str,
              resources: list[str]) -> dict[str, Any]:
    """`lightbox event put`: PutEvents to the embedded moto server of the `lightbox up` whose state file
    this is, as code would call it (so its rules see it as they see any other event)."""
    saved = json.loads(state.read_text()) if state.is_file() else {}
    endpoint = saved.get("cloud_endpoint") or saved.get("s3_endpoint")
    if not endpoint:
        raise LightboxError(f"no running `lightbox up` found ({state} is missing): start it here first, or set "
                            "LIGHTBOX_DATA_DIR to its data folder")
    key, secret = config.credentials()
    events = boto3.client("events", endpoint_url=endpoint, region_name=config.REGION,
                          aws_access_key_id=key, aws_secret_access_key=secret)
    out = events.put_events(Entries=[{"Source": source, "DetailType": detail_type, "Detail": detail,
                                      "EventBusName": bus, "Resources": resources}])
    return {"FailedEntryCount": out["FailedEntryCount"], "Entries": out["Entries"]}
