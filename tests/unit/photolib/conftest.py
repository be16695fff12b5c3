"""The corpus of real photos in tests/corpus (sources and licences in its README)."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "README.md").is_file():
        # Fail, not skip: a missing corpus must not turn these tests green.
        pytest.fail(f"photo corpus not found at {CORPUS.resolve()} (expected tests/corpus in the repository)")
    return CORPUS.resolve()
