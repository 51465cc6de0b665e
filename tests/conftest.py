"""Shared fixtures: an in-memory warehouse, and the public data sets beside the checkout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crmlens.datasets.shared import shared_data_dir
from crmlens.engine import DuckDBEngine


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    with DuckDBEngine(":memory:") as e:
        yield e


@pytest.fixture(scope="session")
def shared_data() -> Path:
    folder = shared_data_dir(required=False)
    if folder is None:
        pytest.skip("shared data sets not found (../shared/data or CRMLENS_DATA_DIR)")
    return folder
