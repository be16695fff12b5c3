"""The shared corpus of real photos: the folder shared/corpus beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "README.md").is_file():
        # Fail, not skip: a missing corpus must not turn these tests green.
        pytest.fail(f"photo corpus not found at {CORPUS.resolve()} (expected shared/ beside the repo)")
    return CORPUS.resolve()
