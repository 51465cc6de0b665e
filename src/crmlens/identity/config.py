"""The ``identity:`` section of crmlens.yaml → keyword arguments of :func:`resolve_identities`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from crmlens.exceptions import ConfigError

__all__ = ["identity_options"]

_KEYS = {"threshold", "must_link", "never_link", "survivorship", "source_priority", "seed"}


def _pairs(value: Any, key: str, folder: Path) -> list[tuple[str, str]]:
    """A list of [key, key] pairs, or a CSV file (two columns, header row) that users edit."""
    if value is None:
        return []
    if isinstance(value, str):
        path = (folder / value) if not Path(value).is_absolute() else Path(value)
        if not path.exists():
            raise ConfigError(
                f"identity.{key}: file {path} does not exist (a CSV with two columns of record keys)"
            )
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if frame.shape[1] < 2:
            raise ConfigError(
                f"identity.{key}: {path} needs two columns of record keys (source:customer_key)"
            )
        return [(a.strip(), b.strip()) for a, b in frame.iloc[:, :2].itertuples(index=False) if a and b]
    if not isinstance(value, list) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
        raise ConfigError(f"identity.{key}: expected a list of [key, key] pairs or a CSV file name")
    return [(str(a), str(b)) for a, b in value]


def identity_options(section: dict[str, Any] | None, folder: str | Path = ".") -> dict[str, Any]:
    """Validated options; every error names the key. File names are relative to the project folder."""
    section = dict(section or {})
    unknown = set(section) - _KEYS
    if unknown:
        raise ConfigError(f"identity: unknown key(s) {sorted(unknown)}; known: {sorted(_KEYS)}")
    out: dict[str, Any] = {}
    if "threshold" in section:
        try:
            out["threshold"] = float(section["threshold"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"identity.threshold: {section['threshold']!r} is not a number") from exc
        if not 0.0 < out["threshold"] <= 1.0:
            raise ConfigError(f"identity.threshold: {out['threshold']} is not in (0, 1]")
    folder = Path(folder)
    for key in ("must_link", "never_link"):
        if key in section:
            out[key] = _pairs(section[key], key, folder)
    if "survivorship" in section:
        value = section["survivorship"]
        if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
            raise ConfigError("identity.survivorship: expected {column: [rule, ...]}")
        out["survivorship"] = value
    if "source_priority" in section:
        value = section["source_priority"]
        if not isinstance(value, list):
            raise ConfigError("identity.source_priority: expected a list of source names, most trusted first")
        out["source_priority"] = [str(v) for v in value]
    if "seed" in section:
        out["seed"] = int(section["seed"])
    return out
