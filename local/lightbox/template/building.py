"""What the builders of the model share: one resource as they see it, and what a load gathers.

A load reads a root stack and its child stacks; each resource is handed to the builder of its type
(functions.py, sources.py, apis.py, catalog.py) with its properties resolved. Triggers name their
function by ARN or name, which may live in another stack, so they are attached once every stack is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lightbox.template.attributes import Attributes, StackIdentity
from lightbox.template.model import (
    Bucket,
    EventInvokeConfig,
    Finding,
    Function,
    Queue,
    QueueNotification,
    Resource,
    Trigger,
)

# Lambda's own defaults when a template omits them.
DEFAULT_TIMEOUT = 3.0
DEFAULT_MEMORY_SIZE = 128


@dataclass
class Res:
    """One resource of one stack, as a builder sees it."""

    logical_id: str
    type: str  # as CloudFormation has it (after the SAM transform)
    name: str  # the user's resource, with the stack path: Fn, Child/Fn
    user_type: str  # the type the user wrote: AWS::Serverless::Function
    event: str | None  # the SAM event it was made for
    props: dict[str, Any]  # resolved
    metadata: dict[str, Any]
    physical: str

    def prop_path(self, prop: str) -> str:
        """A property as the user wrote it: `Events.Work.Properties.BatchSize` for an event's mapping."""
        if self.event is None:
            return prop
        return f"Events.{self.event}.Properties.{prop}" if prop else f"Events.{self.event}"

    def where(self, prop: str) -> str:
        """`Resource.Property` for error messages."""
        path = self.prop_path(prop)
        return f"{self.name}.{path}" if path else self.name


@dataclass(frozen=True)
class PendingTrigger:
    function: str  # a function's name or ARN (a version's or alias's too), as the template gives it
    trigger: Trigger
    res: Res
    prop: str


@dataclass
class Load:
    """Everything one load gathers over all its stacks."""

    region: str
    account: str
    sqs_endpoint: str
    data_dir: Path
    imports: dict[str, Any] = field(default_factory=dict)  # Fn::ImportValue values given by the user
    exports: dict[str, Any] = field(default_factory=dict)  # Outputs' Export names of the stacks read
    files: list[Path] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    functions: dict[str, Function] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    bucket_queue_notifications: dict[str, list[tuple[QueueNotification, Res]]] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    layers: dict[str, Path] = field(default_factory=dict)  # layer version ARN -> its folder
    triggers: list[PendingTrigger] = field(default_factory=list)
    invoke_configs: list[tuple[str, EventInvokeConfig, Res]] = field(default_factory=list)
    queue_targets: list[PendingTrigger] = field(default_factory=list)  # `function` holds the queue's ARN

    def finding(self, res: Res, prop: str, message: str, kind: str = "not-emulated") -> None:
        found = Finding(res.name, res.user_type, res.prop_path(prop), message, kind)
        if found not in self.findings:
            self.findings.append(found)


class Scope(Protocol):
    """The stack a resource belongs to, as builders use it."""

    base: Path  # the template's folder: local paths are relative to it
    identity: StackIdentity
    load: Load
    attributes: Attributes

    def child(self, res: Res) -> None: ...

    def events_of(self, logical_id: str) -> list[str]: ...

    def sam_api_events(self) -> dict[tuple[str, str, str], str]: ...

    def sam_s3_events(self) -> dict[str, dict[str, tuple[tuple[str, ...], str, str]]]: ...
