"""Model registry: every model saved with its version, task, data hash, parameters, features and metrics.

A model file (``.crmodel``) is a zip of ``manifest.json`` and ``model.pkl``. The manifest carries an
HMAC-SHA256 signature over itself and the pickle's hash; loading checks it *before* unpickling, so a
file edited or swapped by someone without the key is refused instead of executed. The key comes from
``CRMLENS_MODEL_KEY``, else from a key file (``CRMLENS_KEY_FILE``, default ``~/.crmlens/model.key``,
created on first save with owner-only permissions). Share the key to score on another machine.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import secrets
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmlens import __version__
from crmlens.exceptions import ConfigError, NotFittedError, ValidationError

SUFFIX = ".crmodel"
FORMAT = 1


def _key() -> bytes:
    env = os.environ.get("CRMLENS_MODEL_KEY")
    if env:
        return env.encode("utf-8")
    path = Path(os.environ.get("CRMLENS_KEY_FILE", Path.home() / ".crmlens" / "model.key"))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")


def data_hash(X: pd.DataFrame, y: Any = None) -> str:
    """A stable hash of the training rows (values and column names)."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, X.columns)).encode("utf-8"))
    digest.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    if y is not None:
        digest.update(np.ascontiguousarray(np.asarray(y)).tobytes())
    return digest.hexdigest()


def _sign(manifest: dict[str, Any], payload_sha: str) -> str:
    body = json.dumps({k: v for k, v in manifest.items() if k != "signature"}, sort_keys=True, default=str)
    return hmac.new(_key(), (body + payload_sha).encode("utf-8"), hashlib.sha256).hexdigest()


def save_model(
    model: Any,
    path: str | Path,
    *,
    task: str,
    version: str | None = None,
    training_hash: str = "",
    metrics: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``model`` and its signed manifest to ``path``; returns the manifest."""
    if not hasattr(model, "boosters_"):
        raise NotFittedError("only a fitted model can be saved; call fit first")
    payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    payload_sha = hashlib.sha256(payload).hexdigest()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "crmlens_version": __version__,
        "task": task,
        "version": version or f"{task}-{payload_sha[:10]}",
        "model_class": type(model).__name__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_data_hash": training_hash,
        "features": list(model.encoder_.feature_names_in_),
        "used_features": list(model.encoder_.features_),
        "params": model.get_params(),
        "choices": model.describe(),
        "metrics": metrics or {},
        "payload_sha256": payload_sha,
        **(extra or {}),
    }
    manifest = json.loads(json.dumps(manifest, default=str))
    manifest["signature"] = _sign(manifest, payload_sha)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        archive.writestr("model.pkl", payload)
    tmp.replace(path)
    return manifest


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a model file, without unpickling anything."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"model file {path} not found; train one with `crmlens propensity train`")
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ValidationError(f"{path} is not a crmlens model file ({exc})") from exc


def load_model(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Check the signature, then unpickle; a file that fails the check is never unpickled."""
    path = Path(path)
    manifest = read_manifest(path)
    with zipfile.ZipFile(path) as archive:
        payload = archive.read("model.pkl")
    payload_sha = hashlib.sha256(payload).hexdigest()
    if payload_sha != manifest.get("payload_sha256"):
        raise ValidationError(
            f"model file {path}: the model bytes do not match the manifest; refusing to load it"
        )
    expected = _sign(manifest, payload_sha)
    if not hmac.compare_digest(expected, str(manifest.get("signature", ""))):
        raise ValidationError(
            f"model file {path}: signature check failed (edited, or signed with another key); refusing to "
            "unpickle it. Set CRMLENS_MODEL_KEY to the key it was saved with, or retrain"
        )
    return pickle.loads(payload), manifest  # noqa: S301 - signature verified above


class ModelRegistry:
    """A folder of model files, one per version: ``<task>-v<N>.crmodel``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _files(self) -> list[Path]:
        return sorted(self.root.glob(f"*{SUFFIX}")) if self.root.is_dir() else []

    def save(self, model: Any, task: str, **kwargs: Any) -> dict[str, Any]:
        n = 1 + sum(1 for m in self.list() if m["task"] == task)
        version = f"{task}-v{n}"
        return save_model(model, self.root / f"{version}{SUFFIX}", task=task, version=version, **kwargs)

    def list(self) -> list[dict[str, Any]]:
        out = []
        for path in self._files():
            try:
                manifest = read_manifest(path)
            except ValidationError:
                continue
            out.append({**manifest, "path": str(path)})
        return sorted(out, key=lambda m: (m["task"], m["created_at"], m["version"]))

    def resolve(self, ref: str) -> Path:
        """A version (``churn-v2``), a task (its latest version) or a file path."""
        candidate = Path(ref)
        if candidate.suffix == SUFFIX and candidate.exists():
            return candidate
        manifests = self.list()
        exact = [m for m in manifests if m["version"] == ref]
        if exact:
            return Path(exact[0]["path"])
        by_task = [m for m in manifests if m["task"] == ref]
        if by_task:
            return Path(by_task[-1]["path"])
        known = ", ".join(m["version"] for m in manifests) or "none"
        raise ConfigError(f"no model {ref!r} in registry {self.root}; known versions: {known}")

    def show(self, ref: str) -> dict[str, Any]:
        path = self.resolve(ref)
        return {**read_manifest(path), "path": str(path)}

    def load(self, ref: str) -> tuple[Any, dict[str, Any]]:
        return load_model(self.resolve(ref))
