"""The debugged function's environment (`--debug`, template/debug.py): started under a debugger that
waits for an attach, as SAM CLI's `--debug-port` does in its container.

Python runs under debugpy (`python -m debugpy --listen HOST:PORT --wait-for-client`, then the runtime
client as usual); Node.js under its inspector (`--inspect-brk`). A provided.* bootstrap is the user's
own program: it brings its own debugger. One environment holds the port, so the debugged function has
one environment, in one process (`up`'s); other processes of the stack (workers) hand its invocations to
that process through the Invoke API (`forward`)."""

from __future__ import annotations

import importlib.util
import json
import sys
from typing import Any

import boto3
from botocore.config import Config

from lightbox import config
from lightbox.exceptions import FunctionError, LightboxError
from lightbox.runtime.environments.runtimes import Launch
from lightbox.runtime.runtimes import python
from lightbox.template.model import Function

# debugpy's own checks: frozen stdlib modules (3.11+) make it warn on every start.
PYTHON_DEBUG_ENV = {"PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def check(fn: Function, client: str) -> None:
    """Refuse `--debug` at start, in one line, when the function's runtime cannot run under a debugger here."""
    if fn.runtime.startswith("python"):
        exe, _ = python.interpreter(fn.runtime, (*python.needs(client), "debugpy"))
        if exe == sys.executable and importlib.util.find_spec("debugpy") is None:
            raise LightboxError(f"--debug {fn.name}: debugpy is not installed for {sys.executable}; "
                                "install it with `pip install debugpy` (or lightbox[debug])")
    elif not fn.runtime.startswith("nodejs"):
        raise LightboxError(f"--debug {fn.name}: {fn.runtime or 'an image'} functions run their own program, not "
                            "one lightbox can start under a debugger (Python and Node.js functions can); start "
                            "your debugger's server inside your bootstrap instead")


def wrap(fn: Function, launch: Launch, host: str, client: str) -> Launch:
    """`launch` under the debugger listening on host:fn.debug_port, held until one attaches."""
    address = f"{host}:{fn.debug_port}"
    if fn.runtime.startswith("nodejs"):
        node, *rest = launch.argv
        return Launch([node, f"--inspect-brk={address}", *rest], launch.env)
    exe, _ = python.interpreter(fn.runtime, (*python.needs(client), "debugpy"))
    return Launch([exe, "-X", "frozen_modules=off", "-m", "debugpy", "--listen", address, "--wait-for-client",
                   *launch.argv[1:]], {**launch.env, **PYTHON_DEBUG_ENV})


def forward(fn: Function, event: Any, endpoint: str, region: str) -> Any:
    """Run the invocation in the process that holds the debugged environment (its Invoke API), waiting
    as long as the debugging session takes; its error comes back as the FunctionError it was."""
    key, secret = config.credentials()
    waits = Config(read_timeout=int(fn.timeout), retries={"total_max_attempts": 1})
    client = boto3.client("lambda", endpoint_url=endpoint, region_name=region, aws_access_key_id=key,
                          aws_secret_access_key=secret, config=waits)
    answer = client.invoke(FunctionName=fn.function_name or fn.name, Payload=json.dumps(event).encode())
    body = json.loads(answer["Payload"].read() or b"null")
    if "FunctionError" in answer:
        error = body if isinstance(body, dict) else {}
        raise FunctionError(str(error.get("errorMessage", body)), str(error.get("errorType", "Runtime.Unknown")),
                            [str(line) for line in error.get("stackTrace") or []])
    return body
