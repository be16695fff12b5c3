"""The Node.js runtime's bootstrap (lightbox/runtime/runtimes/node_bootstrap.cjs) run by a real `node`
against a real Runtime API server (runtime_api_peer.py): handler loading as Lambda's Node.js runtime
does it (CommonJS, ES modules, nested paths, layers' node_modules), async and callback handlers, the
context, and Lambda's error payloads and init errors."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from runtime_api_peer import RuntimeApiPeer

from lightbox.runtime.runtimes import node
from lightbox.template.model import Function

pytestmark = pytest.mark.skipif(node.node() is None, reason="`node` is not on PATH: the Node.js runtime needs it")


class NodeEnv:
    """One Node.js environment process of a function, driven by its own Runtime API peer."""

    def __init__(self, fn: Function, peer: RuntimeApiPeer) -> None:
        self.peer = peer
        env = {"PATH": os.environ["PATH"], "NODE_PATH": os.pathsep.join(node.node_path(fn))}
        env.update({"AWS_LAMBDA_RUNTIME_API": peer.address, "_HANDLER": fn.handler,
                    "LAMBDA_TASK_ROOT": str(fn.code_uri), "AWS_LAMBDA_FUNCTION_NAME": fn.name,
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size), "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST"})
        self.log = fn.code_uri.with_suffix(".log")
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(node.command(), cwd=fn.code_uri, env=env, stdout=out, stderr=subprocess.STDOUT)

    def invoke(self, event: object) -> tuple[str, object]:
        posted = self.peer.invoke(event)
        return posted.kind, posted.body

    def output(self) -> str:
        return self.log.read_text()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., NodeEnv]]:
    started: list[NodeEnv] = []

    def run(files: dict[str, str], handler: str = "index.handler", layers: dict[str, dict[str, str]] | None = None,
            runtime: str = "nodejs20.x") -> NodeEnv:
        code = tmp_path / f"code{len(started)}"
        code.mkdir()
        for name, text in files.items():
            (code / name).parent.mkdir(parents=True, exist_ok=True)
            (code / name).write_text(textwrap.dedent(text))
        layer_dirs = []
        for layer, layer_files in (layers or {}).items():
            for name, text in layer_files.items():
                (tmp_path / layer / name).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / layer / name).write_text(textwrap.dedent(text))
            layer_dirs.append(tmp_path / layer)
        fn = Function("Fn", handler, code, runtime, 30, 128, {}, layer_dirs)
        env = NodeEnv(fn, RuntimeApiPeer())
        started.append(env)
        return env

    yield run
    for env in started:
        env.proc.kill()
        env.proc.wait()
        env.peer.close()


def test_an_async_commonjs_handler_keeps_its_module_warm_and_gets_lambdas_context(
        start: Callable[..., NodeEnv]) -> None:
    env = start({"index.js": """
        let calls = 0;
        exports.handler = async (event, context) => {
          calls += 1;
          console.log("got", event.n);
          const left = context.getRemainingTimeInMillis();
          return {calls, n: event.n, id: context.awsRequestId, name: context.functionName,
                  memory: context.memoryLimitInMB, left: left > 0 && left <= 60000,
                  waits: context.callbackWaitsForEmptyEventLoop, arn: context.invokedFunctionArn,
                  trace: process.env._X_AMZN_TRACE_ID};
        };
    """})
    kind, first = env.invoke({"n": 1})
    assert kind == "response" and isinstance(first, dict)
    assert first["calls"] == 1 and first["n"] == 1 and first["name"] == "Fn" and first["memory"] == "128"
    assert first["left"] is True and first["waits"] is True
    assert first["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:fn"
    assert first["trace"].startswith("Root=1-")
    kind, second = env.invoke({"n": 2})
    assert isinstance(second, dict) and second["calls"] == 2 and second["id"] != first["id"]
    # console lines as Lambda's Node.js runtime writes them: time, request id, level, message
    line = next(x for x in env.output().splitlines() if x.endswith("got 1"))
    assert line.split("\t")[1:] == [first["id"], "INFO", "got 1"]


def test_a_callback_handler_is_answered_once_the_event_loop_is_empty(start: Callable[..., NodeEnv]) -> None:
    env = start({"app.js": """
        let late = 0;
        module.exports.handler = function (event, context, callback) {
          if (event.dontWait) context.callbackWaitsForEmptyEventLoop = false;
          callback(null, {late, echo: event});
          setTimeout(() => { late += 1; }, 300);  // Lambda waits for this before it answers
        };
    """}, handler="app.handler")
    assert env.invoke({"a": 1}) == ("response", {"late": 0, "echo": {"a": 1}})
    # The timer ran before the first answer was sent, so the next invocation sees it.
    assert env.invoke({"b": 2}) == ("response", {"late": 1, "echo": {"b": 2}})


def test_a_callback_error_and_a_sync_handler_without_an_answer(start: Callable[..., NodeEnv]) -> None:
    env = start({"app.cjs": """
        exports.fails = (event, context, callback) => callback(new TypeError("bad input"));
    """, "silent.js": """
        exports.handler = (event) => { setTimeout(() => {}, 10); };
    """}, handler="app.fails")
    kind, body = env.invoke({})
    assert kind == "error" and isinstance(body, dict)
    assert (body["errorType"], body["errorMessage"]) == ("TypeError", "bad input")
    assert body["trace"][0] == "TypeError: bad input"
    assert env.peer.posted[next(iter(env.peer.posted))].headers["Lambda-Runtime-Function-Error-Type"] == "TypeError"


def test_a_sync_handler_that_never_answers_returns_null(start: Callable[..., NodeEnv]) -> None:
    env = start({"silent.js": "exports.handler = (event) => { setTimeout(() => {}, 10); };"}, handler="silent.handler")
    assert env.invoke({}) == ("response", None)
    assert env.invoke({}) == ("response", None)  # and the environment keeps serving


def test_an_es_module_mjs_and_a_js_file_under_type_module(start: Callable[..., NodeEnv]) -> None:
    env = start({"src/handlers/esm.mjs": """
        import { basename } from "node:path";
        export const handler = async (event) => ({ file: basename(import.meta.url), twice: event.n * 2 });
    """}, handler="src/handlers/esm.handler")
    assert env.invoke({"n": 21}) == ("response", {"file": "esm.mjs", "twice": 42})
    env = start({"package.json": '{"type": "module"}', "index.js": """
        export async function handler() { return { esm: typeof require === "undefined" }; }
    """})
    assert env.invoke({}) == ("response", {"esm": True})


def test_nested_handler_paths_and_layers_node_modules(start: Callable[..., NodeEnv]) -> None:
    env = start({"index.js": """
        const greet = require("greeter");
        exports.api = { v1: { get: async () => greet("ada") } };
    """}, handler="index.api.v1.get", layers={
        "old": {"nodejs/node_modules/greeter/index.js": "module.exports = (n) => 'old ' + n;"},
        "new": {"nodejs/node20/node_modules/greeter/index.js": "module.exports = (n) => 'hello ' + n;"},
    })
    assert env.invoke({}) == ("response", "hello ada")  # nodejs/node20 first, as Lambda's NODE_PATH has it


def test_a_thrown_error_is_lambdas_error_shape_and_the_environment_keeps_serving(start: Callable[..., NodeEnv]) -> None:
    env = start({"index.js": """
        class OrderError extends Error { constructor(m) { super(m); this.name = "OrderError"; } }
        exports.handler = async (event) => {
          if (event.kind === "error") throw new OrderError("no such order");
          if (event.kind === "string") throw "plain text";
          if (event.kind === "undefined") return Promise.reject();
          return "fine";
        };
    """})
    kind, body = env.invoke({"kind": "error"})
    assert kind == "error" and isinstance(body, dict) and set(body) == {"errorType", "errorMessage", "trace"}
    assert (body["errorType"], body["errorMessage"]) == ("OrderError", "no such order")
    assert body["trace"][0] == "OrderError: no such order" and "index.js" in body["trace"][1]
    assert env.invoke({"kind": "string"}) == ("error", {"errorType": "string", "errorMessage": "plain text",
                                                         "trace": []})
    assert env.invoke({"kind": "undefined"}) == ("error", {"errorType": "string", "errorMessage": "handled",
                                                            "trace": []})
    assert env.invoke({}) == ("response", "fine")
    assert "\tERROR\tInvoke Error \t" in env.output()


@pytest.mark.parametrize(("files", "handler", "error_type", "message"), [
    ({}, "index.handler", "Runtime.ImportModuleError", "Error: Cannot find module 'index'"),
    ({"index.js": "require('left-pad');"}, "index.handler", "Runtime.ImportModuleError",
     "Error: Cannot find module 'left-pad'"),
    ({"index.js": "exports.other = () => 1;"}, "index.handler", "Runtime.HandlerNotFound",
     "index.handler is undefined or not exported"),
    ({"index.js": "exports.handler = 3;"}, "index.handler", "Runtime.HandlerNotFound",
     "index.handler is not a function"),
    ({"index.js": "exports.handler = () => {"}, "index.handler", "Runtime.UserCodeSyntaxError", "SyntaxError: "),
    ({"index.js": "throw new Error('no config');"}, "index.handler", "Error", "no config"),
    ({"index.js": ""}, "index", "Runtime.MalformedHandlerName", "Bad handler"),
])
def test_an_init_failure_is_posted_to_init_error_and_the_runtime_exits(
        start: Callable[..., NodeEnv], files: dict[str, str], handler: str, error_type: str, message: str) -> None:
    env = start(files, handler=handler)
    posted = env.peer.wait_init_error()
    assert isinstance(posted.body, dict) and posted.body["errorType"] == error_type
    assert posted.body["errorMessage"].startswith(message)
    assert posted.headers["Lambda-Runtime-Function-Error-Type"] == error_type
    assert env.proc.wait(timeout=20) == 129  # as Lambda's Node.js runtime exits after an init error
    assert json.dumps(error_type) in env.output()  # the "Uncaught Exception" log line


def test_an_uncaught_exception_mid_invocation_fails_it_and_ends_the_environment(start: Callable[..., NodeEnv]) -> None:
    env = start({"index.js": """
        exports.handler = (event, context, callback) => {
          if (event.legacy) return context.succeed({legacy: true});
          setTimeout(() => { throw new RangeError("out of range, later"); }, 5);
        };
    """})
    assert env.invoke({"legacy": True}) == ("response", {"legacy": True})  # context.succeed, the old API
    kind, body = env.invoke({})
    assert kind == "error" and isinstance(body, dict)
    assert (body["errorType"], body["errorMessage"]) == ("RangeError", "out of range, later")
    assert env.proc.wait(timeout=20) == 129  # Lambda's Node.js runtime exits; the host starts a new one
