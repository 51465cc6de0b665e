"""Where the public data sets live: ``../shared/data`` beside the checkout, or ``CRMLENS_DATA_DIR``."""

from __future__ import annotations

import os
from pathlib import Path

from crmlens.exceptions import ConfigError


def shared_data_dir(required: bool = True) -> Path | None:
    """The folder of public data sets, searched from the working folder and the package upwards."""
    env = os.environ.get("CRMLENS_DATA_DIR")
    if env:
        return Path(env)
    starts = [Path.cwd(), Path(__file__).resolve()]
    for start in starts:
        for folder in [start, *start.parents]:
            candidate = folder / "shared" / "data"
            if (candidate / "CATALOG.md").exists():
                return candidate
    if required:
        raise ConfigError("shared data not found: set CRMLENS_DATA_DIR to the folder holding CATALOG.md")
    return None


def shared_file(*parts: str) -> Path:
    """A file of the shared data sets, or an error naming it."""
    base = shared_data_dir()
    assert base is not None
    path = base.joinpath(*parts)
    if not path.exists():
        raise ConfigError(f"shared data file missing: {path}")
    return path
