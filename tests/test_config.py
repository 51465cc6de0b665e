"""The project file: every error names the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmlens.config import EXAMPLE, load_config, parse_config
from crmlens.exceptions import ConfigError

SOURCE = {"name": "shop", "kind": "csv", "path": "orders.csv", "entity": "orders"}


def test_example_is_valid(tmp_path: Path) -> None:
    (tmp_path / "crmlens.yaml").write_text(EXAMPLE, encoding="utf-8")
    config = load_config(tmp_path / "crmlens.yaml")
    assert config.sources[0].entity == "orders" and config.sources[0].columns["订单号"] == "order_id"


def test_typo_names_the_key_and_suggests() -> None:
    with pytest.raises(
        ConfigError, match=r"sources\[0\] \(shop\)\.entitiy: unknown key; did you mean 'entity'\?"
    ):
        parse_config({"sources": [{**SOURCE, "entitiy": "orders"}]})


def test_unknown_entity() -> None:
    with pytest.raises(ConfigError, match=r"sources\[0\] \(shop\)\.entity: unknown entity 'order'"):
        parse_config({"sources": [{**SOURCE, "entity": "order"}]})


def test_unknown_kind() -> None:
    with pytest.raises(ConfigError, match=r"sources\[0\] \(shop\)\.kind: .*got 'xls'"):
        parse_config({"sources": [{**SOURCE, "kind": "xls"}]})


def test_database_needs_url_env_not_credentials() -> None:
    with pytest.raises(ConfigError, match="needs 'url_env'"):
        parse_config({"sources": [{"name": "crm", "kind": "postgres", "table": "t", "entity": "customers"}]})


def test_duplicate_source_names() -> None:
    with pytest.raises(ConfigError, match="'shop' is used twice"):
        parse_config({"sources": [SOURCE, SOURCE]})


def test_top_level_typo() -> None:
    with pytest.raises(ConfigError, match="warehous: unknown key; did you mean 'warehouse'"):
        parse_config({"warehous": "x.duckdb"})


def test_not_yaml(tmp_path: Path) -> None:
    (tmp_path / "crmlens.yaml").write_text("sources: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "crmlens.yaml")


def test_missing_project_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="crmlens init"):
        load_config(tmp_path / "crmlens.yaml")
