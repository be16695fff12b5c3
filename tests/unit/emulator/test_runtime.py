"""Runtime: how a handler is loaded and invoked (no servers; handlers are files in tmp_path)."""

from __future__ import annotations

import gc
import os
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from local import defaults
from local.exceptions import HandlerNotFound, InvocationTimeout
from local.runtime import Runtime
from local.template import load_template


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
    monkeypatch.setattr(defaults, "RELOAD_CHECK_SECONDS", 0.0)
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
        import threading, time
        local = threading.local()
        def handler(event, context):
            local.n = getattr(local, "n", 0) + 1
            time.sleep(event["sleep"])
            return [threading.get_ident(), local.n]
    """)
    first, second = (rt.invoke("Fn", {"sleep": 0}).unwrap() for _ in range(2))
    assert second == [first[0], 2]
    with ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda _: rt.invoke("Fn", {"sleep": 0.3}).unwrap(), range(2)))
    assert both[0][0] != both[1][0] and sorted(n for _, n in both) == [1, 3]


def test_a_timed_out_invocations_thread_takes_no_more_invocations(tmp_path: Path) -> None:
    rt = app(tmp_path, """
        import threading, time
        STARTED = []
        def handler(event, context):
            STARTED.append(threading.get_ident())
            time.sleep(event["sleep"])
            return threading.get_ident()
    """, timeout=1)
    assert isinstance(rt.invoke("Fn", {"sleep": 1.5}).error, InvocationTimeout)
    fresh = rt.invoke("Fn", {"sleep": 0}).unwrap()
    time.sleep(0.7)  # the stuck call returns meanwhile; its thread then ends instead of waiting for more
    assert rt.invoke("Fn", {"sleep": 0}).unwrap() == fresh  # the warm thread again
    module = next(m for name, m in sys.modules.items() if name.startswith("lightbox_fn_Fn."))
    stuck_thread = next(i for i in module.STARTED if i != fresh)
    assert stuck_thread not in {t.ident for t in threading.enumerate()}


def test_sandbox_threads_end_with_their_runtime(tmp_path: Path) -> None:
    rt = app(tmp_path, "import threading\ndef handler(event, context):\n    return threading.get_ident()\n")
    ident = rt.invoke("Fn", {}).unwrap()
    del rt
    gc.collect()
    time.sleep(0.1)
    assert ident not in {t.ident for t in threading.enumerate()}


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
