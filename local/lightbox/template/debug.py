"""`--debug FUNCTION[:PORT]`: which function runs under a debugger, and what that changes in the model.

As SAM CLI's `--debug-function`/`--debug-port`: that function's environment waits for a debugger to
attach before its handler is imported, and its Timeout is suspended (a breakpoint would otherwise end
the invocation), so its model's timeout is set past any session. The runtime starts the debugger
(`lightbox.runtime.environments.debugger`); every process of a stack marks the same function."""

from __future__ import annotations

from lightbox.exceptions import LightboxError
from lightbox.template.model import Template

DEFAULT_PORT = 5678  # debugpy's and VS Code's default
SUSPENDED_TIMEOUT_SECONDS = 24 * 3600.0  # "no Timeout" that still fits every int() taken of it


def parse(value: str) -> tuple[str, int]:
    """"Fn" or "Fn:5678" -> (function, port); a mistake gets one line saying what is accepted."""
    name, _, port_text = value.strip().partition(":")
    if not name:
        raise LightboxError(f"--debug {value!r}: expected FUNCTION or FUNCTION:PORT (a function of the template)")
    if not port_text:
        return name, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise LightboxError(f"--debug {value!r}: the port must be a number from 1 to 65535 (default {DEFAULT_PORT})")
    return name, int(port_text)


def mark(template: Template, value: str) -> None:
    """Mark the function `value` names (logical id, path or FunctionName) as debugged."""
    name, port = parse(value)
    try:
        fn = template.function(name)
    except KeyError as exc:
        raise LightboxError(f"--debug {value!r}: {exc.args[0]}") from None
    fn.debug_port = port
    fn.timeout = SUSPENDED_TIMEOUT_SECONDS
