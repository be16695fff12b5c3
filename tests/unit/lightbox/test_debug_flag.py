"""`--debug FUNCTION[:PORT]`: what it accepts, the function it marks, and how that function's environment
starts under a debugger (the command; a real debugging session is tests/integration/test_debugging.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from template_helpers import load

from lightbox.exceptions import LightboxError
from lightbox.runtime.environments import debugger
from lightbox.runtime.environments.runtimes import Launch
from lightbox.template import debug
from lightbox.template.model import Function

OWN = f"python{sys.version_info.major}.{sys.version_info.minor}"
RESOURCES = f"""
  Api:
    Type: AWS::Serverless::Function
    Properties: {{Handler: app.handler, Runtime: {OWN}, CodeUri: ., FunctionName: api-fn, Timeout: 3}}
  Other:
    Type: AWS::Serverless::Function
    Properties: {{Handler: app.handler, Runtime: {OWN}, CodeUri: ., Timeout: 3}}
"""


def test_function_and_port_are_parsed_with_debugpys_default_port() -> None:
    assert debug.parse("Api") == ("Api", 5678)
    assert debug.parse("Api:9229") == ("Api", 9229)
    for wrong in ("Api:x", "Api:0", "Api:70000", ":5678"):
        with pytest.raises(LightboxError, match="--debug"):
            debug.parse(wrong)


def test_the_named_function_is_marked_and_its_timeout_suspended(tmp_path: Path) -> None:
    template = load(tmp_path, RESOURCES)
    debug.mark(template, "api-fn:6000")  # a FunctionName works as for `sam local invoke`
    api, other = template.functions["Api"], template.functions["Other"]
    assert (api.debug_port, api.timeout) == (6000, debug.SUSPENDED_TIMEOUT_SECONDS)
    assert (other.debug_port, other.timeout) == (None, 3)


def test_an_unknown_function_is_one_line_naming_the_functions(tmp_path: Path) -> None:
    template = load(tmp_path, RESOURCES)
    with pytest.raises(LightboxError, match=r"--debug 'Nope'.*no function named 'Nope'.*Api, Other"):
        debug.mark(template, "Nope")


def function(runtime: str) -> Function:
    return Function("Fn", "app.handler", Path("."), runtime, 3, 128, {}, [], debug_port=5999)


def test_python_runs_under_debugpy_waiting_for_a_client() -> None:
    started = debugger.wrap(function(OWN), Launch([sys.executable, "bootstrap.py"], {"A": "1"}), "127.0.0.1",
                            "lightbox")
    assert started.argv[1:] == ["-X", "frozen_modules=off", "-m", "debugpy", "--listen", "127.0.0.1:5999",
                                "--wait-for-client", "bootstrap.py"]
    assert started.env == {"A": "1", **debugger.PYTHON_DEBUG_ENV}


def test_node_runs_under_its_inspector_held_at_the_first_line() -> None:
    started = debugger.wrap(function("nodejs20.x"), Launch(["node", "boot.cjs"]), "0.0.0.0", "lightbox")
    assert started.argv == ["node", "--inspect-brk=0.0.0.0:5999", "boot.cjs"]


def test_a_custom_runtime_is_refused_in_one_line() -> None:
    with pytest.raises(LightboxError, match=r"--debug Fn: provided\.al2023 functions run their own program"):
        debugger.check(function("provided.al2023"), "lightbox")
    debugger.check(function("nodejs20.x"), "lightbox")  # no error
