"""Warehouse identity resolution on the demo retailer: planted pairs found, ids stable, facts filled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from crmlens.config import load_config
from crmlens.datasets.demo import generate_demo
from crmlens.engine import DuckDBEngine
from crmlens.identity import resolve_identities
from crmlens.identity.warehouse import FACT_TABLES


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("identity_demo")
    generate_demo(out, customers=600, seed=4)
    return out


@pytest.fixture(scope="module")
def warehouse(demo: Path) -> Iterator[DuckDBEngine]:
    """One loaded warehouse for the module: the tests below run in order, as successive loads would."""
    from crmlens.ingest import Loader

    engine = DuckDBEngine(":memory:")
    Loader(engine, load_config(demo / "crmlens.yaml"), demo).load_all()
    yield engine
    engine.close()


def _pair_f1(links: pd.DataFrame, truth: pd.DataFrame) -> tuple[float, float, float]:
    cid = {(s, k): c for s, k, c in links[["source", "customer_key", "customer_id"]].itertuples(index=False)}
    hits = sum(
        cid.get((a, b), -1) == cid.get((c, d), -2)
        for a, b, c, d in truth[["source_a", "key_a", "source_b", "key_b"]].itertuples(index=False)
    )
    sizes = links.groupby("customer_id").size()
    predicted = int((sizes * (sizes - 1) // 2).sum())
    precision = hits / predicted if predicted else 0.0
    recall = hits / len(truth)
    return precision, recall, 2 * precision * recall / (precision + recall) if hits else 0.0


def test_finds_the_planted_duplicates_and_fills_every_fact_table(demo: Path, warehouse: DuckDBEngine) -> None:
    summary = resolve_identities(warehouse, seed=0)
    links = warehouse.table("customer_links").to_pandas()
    truth = pd.read_csv(demo / "truth" / "identity_pairs.csv", dtype=str)
    precision, recall, f1 = _pair_f1(links, truth)
    assert f1 >= 0.97, (precision, recall)
    assert len(links) == warehouse.count("source_customers") == summary["records"]
    customers = warehouse.table("customers").to_pandas()
    assert set(links["customer_id"]) <= set(customers["customer_id"])
    assert customers["customer_id"].is_unique
    assert summary["customers"] == links["customer_id"].nunique()
    # a person in both sources is one golden record with two sources
    crm, member = truth.iloc[0]["key_a"], truth.iloc[0]["key_b"]
    one = links[links["customer_key"].isin([crm, member])]["customer_id"].unique()
    assert len(one) == 1
    assert customers.set_index("customer_id").loc[one[0], "n_sources"] == 2
    for table in FACT_TABLES:
        missing = warehouse.query(f"SELECT count(*) FROM {table} WHERE customer_id IS NULL").scalar()
        assert missing == 0, table
        unknown = warehouse.query(
            f"SELECT count(*) FROM {table} WHERE customer_id NOT IN (SELECT customer_id FROM customers)"
        ).scalar()
        assert unknown == 0, table
    assert {t for t in warehouse.tables() if t.startswith("__")} <= {
        "__identity_keymap",
        "__identity_pairs",
        "__identity_model",
    }


def test_second_load_keeps_existing_ids(warehouse: DuckDBEngine) -> None:
    before = (
        warehouse.table("customer_links").to_pandas().set_index(["source", "customer_key"])["customer_id"]
    )
    # a new web-shop record for an existing CRM customer, and a brand-new person
    warehouse.execute(
        """INSERT INTO source_customers (source, customer_key, name, email, phone, birth_date)
        SELECT 'shop_members', 'M-NEW-1', name, upper(email), phone, birth_date FROM source_customers
        WHERE source = 'crm' ORDER BY customer_key LIMIT 1"""
    )
    warehouse.execute(
        """INSERT INTO source_customers (source, customer_key, name, email, phone)
        VALUES ('shop_members', 'M-NEW-2', '欧阳娜娜', 'ouyang.nana.unique@example.com', '+8613900000001')"""
    )
    summary = resolve_identities(warehouse, seed=0)
    assert summary["model_reused"]
    after = warehouse.table("customer_links").to_pandas().set_index(["source", "customer_key"])["customer_id"]
    assert (after.loc[before.index] == before).all()
    first_crm = before.loc["crm"].sort_index().iloc[0]
    assert after.loc[("shop_members", "M-NEW-1")] == first_crm
    assert after.loc[("shop_members", "M-NEW-2")] > before.max()


def test_never_link_and_must_link_override_the_model(demo: Path, warehouse: DuckDBEngine) -> None:
    truth = pd.read_csv(demo / "truth" / "identity_pairs.csv", dtype=str)
    a = f"{truth.iloc[0]['source_a']}:{truth.iloc[0]['key_a']}"
    b = f"{truth.iloc[0]['source_b']}:{truth.iloc[0]['key_b']}"
    crm_keys = warehouse.query(
        "SELECT customer_key FROM source_customers WHERE source = 'crm' ORDER BY 1"
    ).to_pandas()
    x, y = crm_keys["customer_key"].iloc[-1], crm_keys["customer_key"].iloc[-2]
    resolve_identities(warehouse, never_link=[(a, b)], must_link=[(f"crm:{x}", f"crm:{y}")])
    links = warehouse.table("customer_links").to_pandas().set_index("customer_key")
    assert (
        links.loc[truth.iloc[0]["key_a"], "customer_id"] != links.loc[truth.iloc[0]["key_b"], "customer_id"]
    )
    assert links.loc[x, "customer_id"] == links.loc[y, "customer_id"]
    assert "must_link" in set(links["match_rule"])


def test_explain_names_the_rule_or_the_comparisons(demo: Path, warehouse: DuckDBEngine) -> None:
    from crmlens.identity import explain_record

    links = warehouse.table("customer_links").to_pandas()
    row = links[links["match_rule"] != "unique"].iloc[0]
    result = explain_record(warehouse, f"{row['source']}:{row['customer_key']}")
    assert result["customer_id"] == row["customer_id"]
    assert any(p["same_customer"] for p in result["pairs"])
    scored = [p for p in result["pairs"] if p["rule"] == "splink"]
    for pair in scored:
        assert {c["comparison"] for c in pair["comparisons"]} >= {"name", "phone"}
    lonely = links[links["match_rule"] == "unique"].iloc[0]
    other = explain_record(warehouse, f"{row['source']}:{row['customer_key']}", other=lonely["customer_key"])
    assert other["joined"] is False
    with pytest.raises(Exception, match="no resolved record"):
        explain_record(warehouse, "crm:NOPE")
