"""Which runtime runs a function and how it starts: the Python interpreter for its version (real
interpreters on a PATH the test builds), `node` and NODE_PATH, a custom runtime's bootstrap, and the
lines `up` prints for what does not run here."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from template_helpers import load

from lightbox.runtime.environments import faults
from lightbox.runtime.runtimes import layers, node, provided, python, support
from lightbox.template.model import Function

FN = "AWS::Serverless::Function"
OWN = f"python{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture(autouse=True)
def fresh_probes() -> Iterator[None]:
    for cached in (python.interpreter, python._probe, node.node_version):
        cached.cache_clear()
    yield
    for cached in (python.interpreter, python._probe, node.node_version):
        cached.cache_clear()


def fake_python(folder: Path, name: str, says: str, code: int = 0) -> Path:
    """An executable `name` that reports itself as `says` (and fails its imports when code != 0)."""
    folder.mkdir(exist_ok=True)
    exe = folder / name
    exe.write_text(f"#!/bin/sh\necho {says}\nexit {code}\n")
    exe.chmod(0o755)
    return exe


def fn(runtime: str, code: Path, layer_dirs: list[Path] | None = None) -> Function:
    return Function("Fn", "app.handler", code, runtime, 3, 128, {}, layer_dirs or [])


def test_the_python_running_lightbox_serves_its_own_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert python.interpreter(OWN) == (sys.executable, None)


def test_a_matching_python_on_path_is_used_and_a_wrong_one_is_said(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    good = fake_python(bin_dir, "python3.9", "python3.9")
    fake_python(bin_dir, "python3.10", "python3.8")
    fake_python(bin_dir, "python3.12", "python3.12", code=1)  # has no boto3
    monkeypatch.setenv("PATH", str(bin_dir))
    assert python.interpreter("python3.9") == (str(good), None)
    assert python.interpreter("python3.10") == (sys.executable, f"{bin_dir}/python3.10 is python3.8")
    assert python.interpreter("python3.12") == (sys.executable, f"{bin_dir}/python3.12 cannot import boto3")
    assert python.interpreter("python3.13") == (sys.executable, "no python3.13 on PATH")
    assert python.mismatch(fn("python3.13", tmp_path)) == (
        f"runs on {OWN} (the Python running lightbox), not python3.13: no python3.13 on PATH")


def test_a_shim_that_does_not_run_is_not_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    exe = bin_dir / "python3.13"
    bin_dir.mkdir()
    exe.write_text("#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert python.interpreter("python3.13") == (sys.executable, f"{exe} does not run")


def test_node_path_follows_lambdas_opt_with_later_layers_first(tmp_path: Path) -> None:
    first, second, code = tmp_path / "first", tmp_path / "second", tmp_path / "code"
    for folder in (first / "nodejs/node_modules", second / "nodejs/node_modules", second / "nodejs/node20/node_modules",
                   first / "nodejs/node22/node_modules"):
        folder.mkdir(parents=True)
    assert node.node_path(fn("nodejs20.x", code, [first, second])) == [
        str(second / "nodejs/node20/node_modules"), str(second / "nodejs/node_modules"),
        str(first / "nodejs/node_modules"), str(code)]


def test_the_code_folders_lib_is_on_the_library_path_as_var_task_lib(tmp_path: Path) -> None:
    function = fn("provided.al2023", tmp_path)
    assert layers.task_libraries(function, {"LD_LIBRARY_PATH": "/x"}) == {}
    (tmp_path / "lib").mkdir()
    assert layers.task_libraries(function, {"LD_LIBRARY_PATH": "/x"}) == {"LD_LIBRARY_PATH": f"{tmp_path / 'lib'}:/x"}
    assert layers.task_libraries(function, {}) == {"LD_LIBRARY_PATH": str(tmp_path / "lib")}


def test_a_custom_runtime_runs_its_own_executable_bootstrap(tmp_path: Path) -> None:
    function = fn("provided.al2023", tmp_path)
    assert provided.problem(function) == (f"no bootstrap file in {tmp_path}; invocations fail with "
                                          "Runtime.InvalidEntrypoint, as on Lambda")
    (tmp_path / "bootstrap").write_text("#!/bin/sh\n")
    assert provided.problem(function) == (f"{tmp_path / 'bootstrap'} is not executable (chmod +x it); invocations "
                                          "fail with Runtime.InvalidEntrypoint, as on Lambda")
    (tmp_path / "bootstrap").chmod(0o755)
    assert provided.problem(function) is None
    assert provided.command(function) == [str(tmp_path / "bootstrap")]


def test_node_missing_from_path_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert support.unsupported(fn("nodejs22.x", tmp_path)) == (
        "nodejs22.x functions need `node` on PATH, which is not there; invocations fail")
    with pytest.raises(FileNotFoundError):
        node.command()


def test_the_bootstrap_ships_inside_the_package() -> None:
    assert node.bootstrap().is_file() and node.bootstrap().parent.name == "runtimes"


def test_every_runtime_that_does_not_run_here_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    fake_python(bin_dir, "python3.12", "python3.12")
    fake_python(bin_dir, "node", "v18.20.0")
    monkeypatch.setenv("PATH", str(bin_dir))
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "bootstrap").write_text("#!/bin/sh\n")
    t = load(tmp_path, """
        Java:
          Type: AWS::Serverless::Function
          Properties: {Handler: app.Handler::handleRequest, CodeUri: fn/, Runtime: java21}
        Dotnet:
          Type: AWS::Serverless::Function
          Properties: {Handler: App::App.Function::Handler, CodeUri: fn/, Runtime: dotnet8}
        Ruby:
          Type: AWS::Serverless::Function
          Properties: {Handler: app.handler, CodeUri: fn/, Runtime: ruby3.3}
        Image:
          Type: AWS::Serverless::Function
          Properties: {PackageType: Image, ImageUri: 123.dkr.ecr.us-east-1.amazonaws.com/app:1}
        Node:
          Type: AWS::Serverless::Function
          Properties: {Handler: app.handler, CodeUri: fn/, Runtime: nodejs20.x}
        Py:
          Type: AWS::Serverless::Function
          Properties: {Handler: app.handler, CodeUri: fn/, Runtime: python3.12}
        Custom:
          Type: AWS::Serverless::Function
          Properties: {Handler: x, CodeUri: fn/, Runtime: provided.al2023}
    """)
    runs = "python3.9-3.13, nodejs18.x/20.x/22.x, provided, provided.al2, provided.al2023"
    assert [f.line() for f in support.runtime_findings(t)] == [
        f"Java ({FN}): Runtime: java21: this runtime is not run here (runs: {runs}); invocations fail",
        f"Dotnet ({FN}): Runtime: dotnet8: this runtime is not run here (runs: {runs}); invocations fail",
        f"Ruby ({FN}): Runtime: ruby3.3: this runtime is not run here (runs: {runs}); invocations fail",
        f"Image ({FN}): PackageType: PackageType Image functions are not run (they need a container runtime); "
        "invocations fail",
        f"Custom ({FN}): CodeUri: {tmp_path / 'fn' / 'bootstrap'} is not executable (chmod +x it); invocations fail "
        "with Runtime.InvalidEntrypoint, as on Lambda",
    ]
    assert [f.kind for f in support.runtime_findings(t)] == ["not-emulated"] * 4 + ["warning"]
    # what this machine runs them on is a warning of its own, which --strict does not refuse
    assert support.version_warnings(t) == [
        f"lightbox: warning: Node ({FN}): Runtime: runs on node v18.20.0 (the `node` on PATH), not nodejs20.x"]


def test_a_nodejs_error_is_returned_as_its_runtime_posted_it() -> None:
    posted = {"errorType": "PaymentDeclined", "errorMessage": "declined",
              "trace": ["PaymentDeclined: declined", "    at exports.handler (/task/index.js:9:9)"]}
    error = faults.from_payload(posted)
    assert (error.error_type, error.message) == ("PaymentDeclined", "declined")
    assert error.payload("req-1") == posted  # Lambda's Node.js shape, not Python's stackTrace/requestId
    assert error.traceback_text() == "PaymentDeclined: declined\n    at exports.handler (/task/index.js:9:9)\n"
    python_error = faults.from_payload({"errorType": "ValueError", "errorMessage": "bad", "stackTrace": ["  x\n"]})
    assert python_error.payload("req-1") == {"errorMessage": "bad", "errorType": "ValueError", "requestId": "req-1",
                                             "stackTrace": ["  x\n"]}


def test_a_custom_runtime_without_a_bootstrap_is_its_line(tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    t = load(tmp_path, """
        Go:
          Type: AWS::Serverless::Function
          Properties: {Handler: bootstrap, CodeUri: fn/, Runtime: provided.al2023}
    """)
    assert [f.line() for f in t.shown()] == [
        f"Go ({FN}): CodeUri: no bootstrap file in {tmp_path / 'fn'}; invocations fail with Runtime.InvalidEntrypoint, "
        "as on Lambda"]
    assert support.runtime_findings(t) == []  # said once, by the template
