"""Where a project's privacy keys live: the environment, or key files outside the project.

Two keys: the pseudonymisation key (HMAC tokens at ingest; the same key must be used for every
load, or new tokens will not join old ones) and the vault key (encrypts the clear values kept in
``pii_vault`` for identity resolution and for the roles allowed to read them). Each comes from its
environment variable (``privacy.key_env`` / ``privacy.vault_key_env``), else from a key file:
``CRMLENS_PSEUDONYM_KEY_FILE`` / ``CRMLENS_VAULT_KEY_FILE`` in the environment, or
``privacy.key_file`` / ``privacy.vault_key_file`` in crmlens.yaml. The project file may name a key
file, never hold a key, and a key file inside the project folder is refused: the folder is what
gets copied, shared and committed.

:func:`provision_keys` gives a new project (``crmlens init``, ``crmlens demo``) its two key files
in a ``.crmlens-keys`` folder beside the project and points crmlens.yaml at them.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> root = Path(tempfile.mkdtemp())
>>> (root / "shop").mkdir()
>>> _ = (root / "shop" / "crmlens.yaml").write_text("warehouse: crmlens.duckdb\\n")
>>> made = provision_keys(root / "shop" / "crmlens.yaml")
>>> made["pseudonym_key_file"].parent.name, len(made["pseudonym_key_file"].read_text().strip())
('.crmlens-keys', 64)
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from crmlens.exceptions import ConfigError

if TYPE_CHECKING:
    from crmlens.config import PrivacyConfig

__all__ = [
    "KEY_DIR",
    "VAULT_KEY_ENV",
    "VAULT_KEY_FILE_ENV",
    "ProjectKeys",
    "project_keys",
    "provision_keys",
    "read_key_file",
]

KEY_DIR = ".crmlens-keys"
VAULT_KEY_ENV = "CRMLENS_VAULT_KEY"
VAULT_KEY_FILE_ENV = "CRMLENS_VAULT_KEY_FILE"
MIN_KEY_BYTES = 16


@dataclass(frozen=True)
class ProjectKeys:
    """The keys of one project, and where each came from (for the report; never the key itself)."""

    pseudonym: bytes | None
    vault: bytes | None
    pseudonym_from: str = "none"
    vault_from: str = "none"


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def read_key_file(path: Path, what: str, setting: str) -> bytes:
    """The key in ``path`` (surrounding whitespace dropped); a missing or short file is an error naming ``setting``."""
    if not path.is_file():
        raise ConfigError(f"{setting}: key file {path} not found; create it, or run `crmlens privacy keygen`")
    raw = path.read_bytes().strip()
    if len(raw) < MIN_KEY_BYTES:
        raise ConfigError(
            f"{setting}: the {what} key in {path} is too short; use at least {MIN_KEY_BYTES} bytes"
        )
    return raw


def _resolve(value: str, folder: Path, setting: str) -> Path:
    path = Path(value).expanduser()
    path = path if path.is_absolute() else folder / path
    if _inside(path, folder):
        raise ConfigError(
            f"{setting}: {value} is inside the project folder; keep key files outside it "
            "(the folder is what gets copied and committed)"
        )
    return path


def _one_key(
    what: str, env: str, file_env: str, file_setting: str | None, setting: str, folder: Path
) -> tuple[bytes | None, str]:
    value = os.environ.get(env)
    if value:
        if len(value.encode("utf-8")) < MIN_KEY_BYTES:
            raise ConfigError(f"{env}: the {what} key is too short; use at least {MIN_KEY_BYTES} bytes")
        return value.encode("utf-8"), f"environment {env}"
    if os.environ.get(file_env):
        path = Path(os.environ[file_env]).expanduser()
        return read_key_file(path, what, file_env), f"key file ({file_env})"
    if file_setting:
        path = _resolve(file_setting, folder, setting)
        return read_key_file(path, what, setting), f"key file ({setting})"
    return None, "none"


def project_keys(privacy: PrivacyConfig, folder: str | os.PathLike[str]) -> ProjectKeys:
    """The pseudonymisation and vault keys of the project in ``folder``; a key that is needed but missing is an error.

    The pseudonymisation key is needed when ``privacy.pseudonymise`` is on, the vault key when the
    vault is on too. Either may still be present when not needed (erasure uses it to find a
    customer by a clear source key).
    """
    from crmlens.privacy.pseudonymise import KEY_FILE_ENV

    base = Path(folder)
    pseudonym, p_from = _one_key(
        "pseudonymisation", privacy.key_env, KEY_FILE_ENV, privacy.key_file, "privacy.key_file", base
    )
    vault, v_from = _one_key(
        "vault",
        privacy.vault_key_env,
        VAULT_KEY_FILE_ENV,
        privacy.vault_key_file,
        "privacy.vault_key_file",
        base,
    )
    if privacy.pseudonymise and pseudonym is None:
        raise ConfigError(
            f"privacy.pseudonymise is on but no pseudonymisation key was found: set {privacy.key_env}, or "
            "privacy.key_file to a key file outside the project (`crmlens privacy keygen` writes one)"
        )
    if privacy.pseudonymise and privacy.vault and vault is None:
        raise ConfigError(
            f"privacy.vault is on but no vault key was found: set {privacy.vault_key_env}, or "
            "privacy.vault_key_file (`crmlens privacy keygen` writes one); or set privacy.vault: false "
            "(identity resolution then matches identifiers exactly)"
        )
    return ProjectKeys(pseudonym, vault, p_from, v_from)


def _new_key_file(path: Path, fixed: str | None = None) -> bool:
    """Write a fresh 256-bit key (hex) readable by the owner only; an existing file is kept. True when written.

    ``fixed`` (the demo's seed-derived key) replaces whatever the file held.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if fixed is not None and path.exists():
        if path.read_text(encoding="ascii").strip() == fixed:
            return False
        path.unlink()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write((fixed or secrets.token_hex(32)) + "\n")
    return True


_BLOCK_COMMENTS = {
    "pseudonymise": "identifiers become keyed HMAC tokens at ingest",
    "key_file": "the pseudonymisation key, outside the project (or set CRMLENS_PSEUDONYM_KEY)",
    "vault": "clear values kept only encrypted in pii_vault (identity resolution reads them)",
    "vault_key_file": "the vault key, outside the project (or set CRMLENS_VAULT_KEY)",
    "consent": "enforce | off: opted-out customers are never profiled or targeted",
    "key_env": "an environment variable holding the key wins over key_file",
    "vault_key_env": "an environment variable holding the vault key wins over vault_key_file",
}


def _privacy_block(settings: dict[str, Any]) -> str:
    lines = ["privacy:"]
    for key, value in settings.items():
        text = (
            f"  {key}: {yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}"
        )
        comment = _BLOCK_COMMENTS.get(key)
        lines.append(f"{text:<50} # {comment}" if comment else text)
    return "\n".join(lines) + "\n"


def _replace_block(text: str, block: str) -> str:
    """``text`` with its top-level ``privacy:`` entry (and the indented lines under it) replaced by ``block``."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"privacy\s*:", line)), None)
    if start is None:
        return text + ("" if text.endswith("\n") or not text else "\n") + "\n" + block
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t"):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():  # keep the blank lines before the next key
        end -= 1
    return "".join(lines[:start]) + block + "".join(lines[end:])


def provision_keys(
    project_file: str | os.PathLike[str],
    key_dir: str | os.PathLike[str] | None = None,
    *,
    demo_seed: int | None = None,
) -> dict[str, Any]:
    """Create the project's two key files (kept when they exist) and turn pseudonymisation on in crmlens.yaml.

    ``key_dir`` defaults to ``.crmlens-keys`` beside the project folder; it must lie outside it.
    The privacy section of crmlens.yaml is rewritten with ``pseudonymise: true`` and the key file
    paths (relative to the project); its other settings are kept, and so is the rest of the file.

    ``demo_seed`` is for the generated demo alone: its keys are derived from the seed, so that
    ``crmlens demo --seed N`` gives the same tokens, customer ids and figures on every machine.
    Anyone who knows the seed can recompute those tokens, which is harmless for fictional people
    and never acceptable for real ones: real projects get random keys.
    """
    from crmlens.config import parse_config

    project_file = Path(project_file)
    folder = project_file.parent.resolve()
    target = Path(key_dir).resolve() if key_dir is not None else folder.parent / KEY_DIR
    if _inside(target, folder):
        raise ConfigError(f"key folder {target} is inside the project {folder}; choose a folder outside it")
    text = project_file.read_text(encoding="utf-8") if project_file.exists() else ""
    current = (yaml.safe_load(text) or {}) if text else {}
    paths = {
        "pseudonym_key_file": target / f"{folder.name}.pseudonym.key",
        "vault_key_file": target / f"{folder.name}.vault.key",
    }
    fixed = {
        name: hashlib.sha256(f"crmlens demo {name} {demo_seed}".encode()).hexdigest()
        if demo_seed is not None
        else None
        for name in paths
    }
    created = [str(p) for name, p in paths.items() if _new_key_file(p, fixed[name])]
    settings: dict[str, Any] = {
        "pseudonymise": True,
        "key_file": os.path.relpath(paths["pseudonym_key_file"], folder),
        "vault": True,
        "vault_key_file": os.path.relpath(paths["vault_key_file"], folder),
        "consent": "enforce",
    }
    previous = current.get("privacy") or {}
    for key, value in previous.items():  # the user's own choices (consent: off, key_env ...) stay
        if key not in ("pseudonymise", "key_file", "vault_key_file"):
            settings[key] = value
    updated = _replace_block(text, _privacy_block(settings))
    parse_config(yaml.safe_load(updated), str(project_file))  # never write a file that does not load
    project_file.write_text(updated, encoding="utf-8")
    return {**paths, "created": created, "project_file": project_file}
