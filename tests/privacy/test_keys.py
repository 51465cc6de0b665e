"""Keys live in the environment or in key files outside the project; crmlens.yaml only names them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from crmlens.config import EXAMPLE, PrivacyConfig, load_config
from crmlens.exceptions import ConfigError
from crmlens.privacy.keys import project_keys, provision_keys

from .conftest import KEY


@pytest.fixture(autouse=True)
def _no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "CRMLENS_PSEUDONYM_KEY",
        "CRMLENS_PSEUDONYM_KEY_FILE",
        "CRMLENS_VAULT_KEY",
        "CRMLENS_VAULT_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)


def _project(root: Path, text: str = EXAMPLE) -> Path:
    (root / "shop").mkdir()
    target = root / "shop" / "crmlens.yaml"
    target.write_text(text, encoding="utf-8")
    return target


def test_provision_writes_private_key_files_outside_and_names_them(tmp_path: Path) -> None:
    target = _project(tmp_path)
    made = provision_keys(target)
    for path in (made["pseudonym_key_file"], made["vault_key_file"]):
        assert path.parent == tmp_path / ".crmlens-keys"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text().strip() not in target.read_text()  # the key itself never enters the file
    config = load_config(target)
    assert config.privacy.pseudonymise and config.privacy.vault and config.privacy.consent == "enforce"
    assert config.privacy.key_file == "../.crmlens-keys/shop.pseudonym.key"
    assert config.sources[0].columns["订单号"] == "order_id"  # the rest of the file is kept
    keys = project_keys(config.privacy, target.parent)
    assert keys.pseudonym == made["pseudonym_key_file"].read_bytes().strip() and keys.vault != keys.pseudonym
    again = provision_keys(target)  # a second run keeps the keys: a new one would break joins with old loads
    assert again["created"] == [] and project_keys(load_config(target).privacy, target.parent) == keys


def test_provision_keeps_the_users_choices_and_refuses_keys_inside(tmp_path: Path) -> None:
    target = _project(tmp_path, "warehouse: w.duckdb\nprivacy:\n  consent: off\n  key_env: MY_KEY\n")
    provision_keys(target)
    privacy = load_config(target).privacy
    assert privacy.consent == "off" and privacy.key_env == "MY_KEY" and privacy.pseudonymise
    with pytest.raises(ConfigError, match="inside the project"):
        provision_keys(target, target.parent / "keys")


def test_demo_keys_follow_the_seed(tmp_path: Path) -> None:
    target = _project(tmp_path)
    first = provision_keys(target, demo_seed=3)["pseudonym_key_file"].read_text()
    assert provision_keys(target, demo_seed=3)["created"] == []  # same seed, same key: nothing rewritten
    assert provision_keys(target, demo_seed=4)["pseudonym_key_file"].read_text() != first
    assert provision_keys(target, demo_seed=3)["pseudonym_key_file"].read_text() == first
    assert provision_keys(target)["created"] == []  # a real project keeps whatever key it has


def test_key_sources_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "shop"
    folder.mkdir()
    with pytest.raises(ConfigError, match="CRMLENS_PSEUDONYM_KEY"):
        project_keys(PrivacyConfig(pseudonymise=True), folder)
    assert project_keys(PrivacyConfig(), folder).pseudonym is None  # not needed, not required
    inside = folder / "secret.key"
    inside.write_text(KEY)
    with pytest.raises(ConfigError, match="privacy.key_file: secret.key is inside the project"):
        project_keys(PrivacyConfig(pseudonymise=True, key_file="secret.key"), folder)
    (tmp_path / "p.key").write_text(KEY + "\n")
    with pytest.raises(ConfigError, match="privacy.vault is on but no vault key"):
        project_keys(PrivacyConfig(pseudonymise=True, key_file="../p.key"), folder)
    keys = project_keys(PrivacyConfig(pseudonymise=True, key_file="../p.key", vault=False), folder)
    assert keys.pseudonym == KEY.encode() and keys.pseudonym_from == "key file (privacy.key_file)"
    monkeypatch.setenv("CRMLENS_PSEUDONYM_KEY", "from-the-environment-0123")
    assert project_keys(PrivacyConfig(key_file="../p.key"), folder).pseudonym == b"from-the-environment-0123"
    monkeypatch.setenv("CRMLENS_VAULT_KEY", "short")
    with pytest.raises(ConfigError, match="too short"):
        project_keys(PrivacyConfig(), folder)
    monkeypatch.delenv("CRMLENS_VAULT_KEY")
    (tmp_path / "v.key").write_text("tiny")
    with pytest.raises(ConfigError, match="privacy.vault_key_file: the vault key .* too short"):
        project_keys(PrivacyConfig(vault_key_file="../v.key"), folder)


def test_unknown_privacy_key_suggests_the_right_one() -> None:
    from crmlens.config import parse_config

    with pytest.raises(ConfigError, match="privacy.consnet: unknown key; did you mean 'consent'"):
        parse_config({"privacy": {"consnet": "off"}})
