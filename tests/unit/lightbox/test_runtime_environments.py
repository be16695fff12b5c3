"""Pure parts of the execution environments: Lambda's words for faults, log lines, handler checks,
and the bootstrap's error payloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightbox.exceptions import FunctionError, HandlerNotFound
from lightbox.runtime.environments import faults, logs
from lightbox.runtime.environments.handlers import check_python_handler
from lightbox.runtime.environments.python import bootstrap
from lightbox.template.model import Function


@pytest.mark.parametrize(("code", "words"), [
    (3, "exit status 3"), (1, "exit status 1"), (-11, "signal: segmentation fault"), (-9, "signal: killed"),
    (-6, "signal: aborted"),
])
def test_exit_reasons_as_lambda_words_them(code: int, words: str) -> None:
    assert faults.exit_reason(code) == words
    error = faults.exited("rid-1", code)
    assert error.error_type == "Runtime.ExitError"
    assert error.message == f"RequestId: rid-1 Error: Runtime exited with error: {words}"


def test_timeout_and_memory_errors() -> None:
    timeout = faults.timed_out("rid", 2)
    assert timeout.error_type == "Sandbox.Timedout"
    assert timeout.message == "RequestId: rid Error: Task timed out after 2.00 seconds"
    oom = faults.out_of_memory("rid")
    assert oom.error_type == "Runtime.OutOfMemory" and oom.message.endswith("signal: killed")


def test_error_payload_round_trip() -> None:
    error = faults.from_payload({"errorMessage": "boom", "errorType": "ValueError",
                                 "stackTrace": ['  File "app.py", line 3, in handler\n']})
    assert isinstance(error, FunctionError) and repr(error) == "ValueError('boom')"
    assert error.traceback_text() == ('Traceback (most recent call last):\n  File "app.py", line 3, in handler\n'
                                      "ValueError: boom\n")
    assert faults.from_payload("not json", "Runtime.Unknown").message == "not json"


def test_report_line_has_init_only_when_cold() -> None:
    cold = logs.report_line("r", 12.341, 128, 20.2, 101.5)
    assert cold == ("REPORT RequestId: r\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
                    "Max Memory Used: 21 MB\tInit Duration: 101.50 ms")
    assert "Init Duration" not in logs.report_line("r", 1.0, 128, 20, None)
    assert logs.start_line("r") == "START RequestId: r Version: $LATEST"
    assert logs.end_line("r") == "END RequestId: r"
    assert logs.tagged("r", "hello") == "r\thello"
    assert logs.tagged("r", "[INFO]\t2024\tr\thello") == "[INFO]\t2024\tr\thello"


def _function(tmp_path: Path, source: str, handler: str = "app.handler") -> Function:
    (tmp_path / "app.py").write_text(source)
    return Function("Fn", handler, tmp_path, "python3.11", 3, 128, {}, [])


def test_a_handler_naming_nothing_is_refused_without_running_the_file(tmp_path: Path) -> None:
    source = '"""doc"""\nimport os\nprint(open("/nonexistent").read())\ndef main(e, c):\n    return 1\n'
    fn = _function(tmp_path, source)
    with pytest.raises(HandlerNotFound, match=r"Handler app.handler names no function .*\['main'\]"):
        check_python_handler(fn)
    check_python_handler(_function(tmp_path, "from x import handler\n"))
    check_python_handler(_function(tmp_path, "def handler(e, c):\n    return 1\n"))
    check_python_handler(_function(tmp_path, "try:\n    import a\nexcept ImportError:\n    handler = None\n"))
    check_python_handler(_function(tmp_path, "def broken(:\n"))  # the runtime reports syntax errors


def test_bootstrap_error_payloads_as_awslambdaric(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "needs_missing.py").write_text("import not_there_at_all\n")
    with pytest.raises(bootstrap.Fault) as missing:
        bootstrap.load_handler("needs_missing.handler")
    assert missing.value.error_type == "Runtime.ImportModuleError"
    assert missing.value.message == "Unable to import module 'needs_missing': No module named 'not_there_at_all'"
    (tmp_path / "has_no_handler.py").write_text("x = 1\n")
    fault_handler = bootstrap.load_handler("has_no_handler.nope")
    with pytest.raises(bootstrap.Fault, match="Handler 'nope' missing on module 'has_no_handler'"):
        fault_handler({}, None)
    try:
        raise KeyError("k")
    except KeyError as exc:
        payload = bootstrap.error_payload(exc, "rid")
    assert payload["errorType"] == "KeyError" and payload["errorMessage"] == "'k'" and payload["requestId"] == "rid"


def test_isolation_setting_picks_the_runtime(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from lightbox.config import Settings
    from lightbox.exceptions import LightboxError
    from lightbox.runtime.environments.runtime import ProcessRuntime
    from lightbox.runtime.invoke import Runtime, build_runtime

    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Handler: app.handler\n      CodeUri: fn/\n      Runtime: python3.11\n")
    settings = Settings.load(template=tmp_path / "template.yaml", data_dir=tmp_path / "data")
    monkeypatch.setenv("LIGHTBOX_ISOLATION", "thread")
    thread = build_runtime(settings)
    assert type(thread) is Runtime and thread.invoke("Fn", {}).result == 1
    thread.close()
    monkeypatch.setenv("LIGHTBOX_ISOLATION", "containers")
    with pytest.raises(LightboxError, match="LIGHTBOX_ISOLATION='containers': expected process or thread"):
        build_runtime(settings)
    monkeypatch.delenv("LIGHTBOX_ISOLATION")
    process = build_runtime(settings)
    assert isinstance(process, ProcessRuntime)
    process.close()
