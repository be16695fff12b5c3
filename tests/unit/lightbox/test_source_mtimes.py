"""What hot reload watches in a function's code folder (invoke.source_mtimes)."""

from __future__ import annotations

from pathlib import Path

from lightbox.runtime.invoke import source_mtimes


def test_a_code_folder_is_watched_without_its_virtualenv_git_and_caches(tmp_path: Path) -> None:
    # `CodeUri: .` in a project that keeps its virtualenv beside the template.
    for name in ("app.py", "pkg/helper.py", ".venv/lib/site.py", ".git/hooks/x.py", "pkg/__pycache__/h.py",
                 "node_modules/m/index.py", ".aws-sam/build/app.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x = 1\n")
    assert set(source_mtimes([tmp_path])) == {tmp_path / "app.py", tmp_path / "pkg" / "helper.py"}
