"""Runtime: how a handler is loaded and invoked (no servers; handlers are files in tmp_path)."""

from __future__ import annotations

import gc
import os
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from lightbox import config
from lightbox.exceptions import HandlerNotFound, InvocationTimeout
from lightbox.runtime.invoke import Runtime
from lightbox.template.loader import load_template


def app(tmp_path: Path, code: str, timeout: int = 3, handler: str = "app.handler") -> Runtime:
    (tmp_path / "fn").mkdir(exist_ok=True)
    (tmp_path / "fn" / "app.py").write_text(textwrap.dedent(code))
    (tmp_path / "layer" / "python").mkdir(parents=True, exist_ok=True)
    (tmp_path / "layer" / "python" / "tmplayerlib.py").write_text("VALUE = 'from the layer'\n")
    (tmp_path / "template.yaml").write_text(textwrap.dedent(f"""
        Resources:
          Lib:
            Type: AWS::Serverless::LayerVersion
            Properties: {{ContentUri: layer/}}
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: {handler}
              CodeUri: fn/
              Runtime: python3.11
              Timeout: {timeout}
              Layers: [!Ref Lib]
              Environment: {{Variables: {{MODE: test}}}}
    """))
    return Runtime(load_template(tmp_path / "template.yaml"))


def test_invoke_with_layer_env_and_context(tmp_path: Path) -> None:
    rt = app(tmp_path, """
        import os
        import tmplayerlib
        def handler(event, context):
            return {"layer": tmplayerlib.VALUE, "mode": os.environ["MODE"], "name": context.function_name,
                    "event": event}
    """)
    inv = rt.invoke("Fn", {"a": 1})
    assert inv.ok and inv.result == {"layer": "from the layer", "mode": "test", "name": "Fn", "event": {"a": 1}}
    assert "MODE" not in os.environ


def test_changed_source_is_reloaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "RELOAD_CHECK_SECONDS", 0.0)
    rt = app(tmp_path, "def handler(event, context):\n    return 1\n")
    assert rt.invoke("Fn", {}).result == 1
    src = tmp_path / "fn" / "app.py"
    src.write_text("def handler(event, context):\n    return 2\n")
    later = time.time() + 5  # mtime resolution can be coarse; make the change unmistakable
    os.utime(src, (later, later))
    assert rt.invoke("Fn", {}).result == 2


def test_warm_state_survives_between_invocations(tmp_path: Path) -> None:
    rt = app(tmp_path, "N = []\ndef handler(event, context):\n    N.append(1)\n    return len(N)\n")
    assert [rt.invoke("Fn", {}).result for _ in range(3)] == [1, 2, 3]


def test_thread_local_state_stays_warm_and_concurrent_invocations_get_their_own_thread(tmp_path: Path) -> None:
    # A handler's per-thread state (photolib keeps its SQLite connection so) lives as long as its
    # execution environment, as on Lambda; two invocations at once are two environments.
    rt = app(tmp_path, """
        import threading
        local = threading.local()
        both_in = threading.Barrier(2, timeout=10)
        def handler(event, context):
            local.n = getattr(local, "n", 0) + 1
            if event["together"]:
                both_in.wait()  # only two threads get past this
            return local.n
    """, timeout=20)
    assert [rt.invoke("Fn", {"together": False}).unwrap() for _ in range(2)] == [1, 2]
    with ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda _: rt.invoke("Fn", {"together": True}).unwrap(), range(2)))
    assert sorted(both) == [1, 3]


# Each thread's token is kept on the thread itself, so it outlives a reload of the module.
STUCK = """
    import threading, uuid
    release = threading.Event()
    stuck = []
    def handler(event, context):
        me = threading.current_thread()
        me.token = getattr(me, "token", None) or uuid.uuid4().hex
        if event.get("stick"):
            stuck.append(me)
            if event.get("release"):
                release.set()
            release.wait(30)
        return me.token
"""


def _module(name: str = "Fn") -> Any:
    return next(m for key, m in sys.modules.items() if key.startswith(f"lightbox_fn_{name}."))


def test_a_timed_out_invocations_thread_takes_no_more_invocations(tmp_path: Path) -> None:
    rt = app(tmp_path, STUCK, timeout=1)
    assert isinstance(rt.invoke("Fn", {"stick": True}).error, InvocationTimeout)
    fresh = rt.invoke("Fn", {}).unwrap()
    module = _module()
    module.release.set()
    module.stuck[0].join(timeout=10)  # the stuck call returns, and its thread ends
    assert not module.stuck[0].is_alive()
    assert rt.invoke("Fn", {}).unwrap() == fresh  # the other thread, warm


def test_sandbox_threads_end_with_their_runtime_or_its_close(tmp_path: Path) -> None:
    rt = app(tmp_path, """
        import threading
        ran_on = []
        def handler(event, context):
            ran_on.append(threading.current_thread())
            raise RuntimeError("its frames lead back to the runtime")
    """)
    assert isinstance(rt.invoke("Fn", {}).error, RuntimeError)
    threads = list(_module().ran_on)
    del rt
    gc.collect()
    for thread in threads:
        thread.join(timeout=5)
    assert threads and not any(t.is_alive() for t in threads)
    rt = app(tmp_path, STUCK)
    rt.invoke("Fn", {"stick": True, "release": True}).unwrap()
    threads = list(_module().stuck)
    rt.close()
    for thread in threads:
        thread.join(timeout=5)
    assert threads and not any(t.is_alive() for t in threads)


def test_a_reloaded_function_runs_on_new_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "RELOAD_CHECK_SECONDS", 0)
    rt = app(tmp_path, STUCK)
    before = rt.invoke("Fn", {}).unwrap()
    src = tmp_path / "fn" / "app.py"
    src.write_text(src.read_text() + "\n# changed\n")
    os.utime(src, (time.time() + 5, time.time() + 5))
    assert rt.invoke("Fn", {}).unwrap() != before  # the old code's per-thread state is not carried over


def test_timeout_fails_the_invocation(tmp_path: Path) -> None:
    rt = app(tmp_path, "import time\ndef handler(event, context):\n    time.sleep(3)\n", timeout=1)
    inv = rt.invoke("Fn", {})
    assert isinstance(inv.error, InvocationTimeout) and "Task timed out after 1.00 seconds" in str(inv.error)


def test_handler_error_carries_its_traceback(tmp_path: Path) -> None:
    rt = app(tmp_path, "def handler(event, context):\n    raise KeyError('photo_id')\n")
    inv = rt.invoke("Fn", {})
    assert isinstance(inv.error, KeyError) and "raise KeyError('photo_id')" in inv.traceback
    with pytest.raises(KeyError):
        inv.unwrap()


def test_missing_handler_lists_what_was_found(tmp_path: Path) -> None:
    rt = app(tmp_path, "def main(event, context):\n    return 1\n")
    with pytest.raises(HandlerNotFound, match=r"names no function .*\['main'\]"):
        rt.load("Fn")
