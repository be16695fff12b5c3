"""The emulator's boundaries: it never imports the app, knows nothing of its tokens, and is layered."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "local" / "lightbox"
MODULES = sorted(PACKAGE.rglob("*.py"))
# The photo app's packages and the words of its token contract; none belongs in a generic emulator.
APP_PACKAGES = {"functions", "photolib"}
APP_WORDS = re.compile(r"photolib|TOKEN_SECRET|client[ _-]token|itsdangerous|\bphotos?\b", re.IGNORECASE)


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_package_holds_modules() -> None:
    assert len(MODULES) > 40  # the walk below looks at the real tree, not an empty glob


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_emulator_module_imports_the_app(path: Path) -> None:
    assert not imported_packages(path) & APP_PACKAGES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_emulator_module_speaks_of_the_apps_photos_or_tokens(path: Path) -> None:
    hits = [f"{path.name}:{n}: {line.strip()}" for n, line in enumerate(path.read_text().splitlines(), 1)
            if APP_WORDS.search(line)]
    assert hits == []


def test_the_old_top_level_name_is_gone() -> None:
    assert not (ROOT / "local" / "__init__.py").exists()
    done = subprocess.run([sys.executable, "-c", "import local"], cwd=ROOT / "tests", capture_output=True, text=True,
                          check=False)
    assert "No module named 'local'" in done.stderr


def test_the_layers_hold() -> None:
    """pyproject's import-linter contract: cli and stack on top, event sources in the middle,
    template and runtime below, config at the bottom."""
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 kept, 0 broken" in done.stdout


# config.py is by design the one registry of every setting and variable the emulator reads (docs/architecture.md),
# so it grows with each one; it gets more room than a module of code, not a second home.
LIMITS = {"config.py": 400}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= LIMITS.get(str(path.relative_to(PACKAGE)), 320)
