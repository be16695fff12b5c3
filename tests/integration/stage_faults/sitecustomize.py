"""Put on PYTHONPATH by the reliability scenarios: in the function LIGHTBOX_TEST_STAGE_FAULT names
(`MetadataFunction:crash` or `MetadataFunction:loop`), the first receive of every stage message
ends its process (os._exit) or spins past the function's Timeout. Later receives run normally.

sitecustomize runs in every Python process started with this folder on its path; outside that
function it does nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

_function, _, _fault = os.environ.get("LIGHTBOX_TEST_STAGE_FAULT", "").partition(":")


def _first_receive(event: dict[str, Any]) -> bool:
    return any(r.get("attributes", {}).get("ApproximateReceiveCount") == "1" for r in event.get("Records", []))


def _wrap(module: ModuleType) -> None:
    run_stage = module.run_stage

    def faulty_run_stage(event: dict[str, Any], context: Any, *args: Any, **kwargs: Any) -> Any:
        if _first_receive(event):
            if _fault == "crash":
                os._exit(3)
            while _fault == "loop":
                pass
        return run_stage(event, context, *args, **kwargs)

    module.run_stage = faulty_run_stage


class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "photolib.pipeline":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_wrap(module: ModuleType) -> None:
            exec_module(module)
            _wrap(module)

        spec.loader.exec_module = exec_and_wrap  # type: ignore[method-assign]
        return spec


if _function and _function in os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""):
    sys.meta_path.insert(0, _Hook())
