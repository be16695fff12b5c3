"""The launchers of Node.js and custom runtimes, registered with the environment host
(`lightbox.runtime.environments.runtimes.register`): the command and the variables only they need."""

from __future__ import annotations

import os

from lightbox.exceptions import FunctionError
from lightbox.runtime.environments.runtimes import Launch, register
from lightbox.runtime.runtimes import node, provided
from lightbox.runtime.runtimes.layers import task_libraries
from lightbox.template.model import Function


def node_launch(fn: Function, _client: str) -> Launch:
    """`node node_bootstrap.cjs`, with NODE_PATH as Lambda sets it (layers' bin/ and lib/ are the host's)."""
    try:
        argv = node.command()
    except FileNotFoundError as exc:
        raise FunctionError(f"{fn.name}: {fn.runtime} functions need `node` on PATH, which is not there",
                            "Runtime.InvalidRuntime") from exc
    env = {"NODE_PATH": os.pathsep.join(node.node_path(fn)), "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}"}
    return Launch(argv, {**env, **task_libraries(fn, os.environ)})


def provided_launch(fn: Function, _client: str) -> Launch:
    """The function's own bootstrap; Lambda sets no AWS_EXECUTION_ENV for an OS-only runtime."""
    problem = provided.problem(fn)
    if problem:
        raise FunctionError(f"{fn.name}: {problem}", "Runtime.InvalidEntrypoint")
    return Launch(provided.command(fn), task_libraries(fn, os.environ))


register("nodejs", node_launch)
register("provided", provided_launch)
