"""The embedded moto server's state on disk: what `lightbox up` created (tables and their items,
topics, streams, secrets, parameters, buses, buckets and objects) is there again after a restart.

moto keeps its state in module-level backend dictionaries and has no persistence of its own; its
backends pickle (except SQS, whose queues hold locks: the emulator's SQS is its own, on Redis, and
the one moto queue lightbox uses is created again at start). All of them go in one pickle so that
objects one backend shares with another (DynamoDB and DynamoDB Streams) stay shared. Written when
the server stops (SIGTERM from `lightbox up`), read when it starts; a server killed hard loses what
changed since it started.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections import defaultdict
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Services whose state is kept, by moto's backend name.
PERSISTED = ("s3", "dynamodb", "dynamodbstreams", "sns", "secretsmanager", "ssm", "kinesis", "events",
             "scheduler", "logs", "cloudwatch", "stepfunctions", "iam", "kms")
FILE = "moto-state.pickle"


def _tag_map() -> defaultdict[str, dict[str, str]]:
    return defaultdict(dict)


def _parameter_dict(account_id: str, region_name: str, items: dict[str, Any], state: dict[str, Any]) -> Any:
    from moto.ssm.models import ParameterDict

    out = ParameterDict(account_id, region_name)
    out.update(items)
    vars(out).update(state)
    return out


def _reduce_parameter_dict(value: Any) -> tuple[Any, ...]:
    return _parameter_dict, (value.account_id, value.region_name, dict(value), dict(vars(value)))


def _picklable(name: str, backends: Any) -> None:
    """SSM's parameter map takes arguments a defaultdict's pickle does not give it, and its tag map
    defaults through a lambda: both are saved in a form that loads."""
    if name != "ssm":
        return
    import copyreg

    from moto.ssm.models import ParameterDict

    copyreg.pickle(ParameterDict, _reduce_parameter_dict)
    for regions in backends.values():
        for backend in regions.values():
            tags = getattr(backend, "_resource_tags", None)
            if isinstance(tags, defaultdict) and tags.default_factory is not _tag_map:
                backend._resource_tags = defaultdict(_tag_map, tags)


def save(folder: Path) -> None:
    from moto.backends import get_backend

    state: dict[str, Any] = {}
    for name in PERSISTED:
        backends = get_backend(name)  # type: ignore[call-overload]  # moto types each name with a literal
        _picklable(name, backends)
        state[name] = backends
    try:
        data = pickle.dumps(state)
    except (pickle.PicklingError, TypeError, AttributeError):
        data = pickle.dumps(_each_that_pickles(state))
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{FILE}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, folder / FILE)  # a stop cut short leaves the previous state, never half of one


def _each_that_pickles(state: dict[str, Any]) -> dict[str, Any]:
    kept = {}
    for name, backends in state.items():
        try:
            pickle.dumps(backends)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            log.error("moto state: %s cannot be saved (%s); it starts empty next time", name, exc)
            continue
        kept[name] = backends
    return kept


def load(folder: Path) -> list[str]:
    """Put the saved state back into moto's backends; the services restored."""
    from moto.backends import get_backend

    path = folder / FILE
    if not path.is_file():
        return []
    try:
        state = pickle.loads(path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - a file from another moto version: start empty, say so
        log.error("moto state in %s cannot be read (%s); starting empty", path, exc)
        return []
    for name, saved in state.items():
        live = get_backend(name)
        live.clear()
        live.update(saved)
    return sorted(state)
