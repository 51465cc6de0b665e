"""PII detection: planted identifiers are found, look-alikes are not, text is scrubbed, scans flag columns."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from crmlens.privacy import find_pii, pseudonymise_columns, scan_table, scan_values, scrub_text
from crmlens.privacy.pii import column_hint, luhn_valid, prc_id_valid
from crmlens.privacy.planted import make_bank_card, make_prc_id, planted_corpus

from .conftest import KEY


def _norm(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z@.:]", "", value)


def test_checksums_by_hand() -> None:
    # GB 11643 example: weights give remainder 2 -> check character X
    assert prc_id_valid("11010519491231002X")
    assert not prc_id_valid("110105194912310021")  # wrong check character
    assert not prc_id_valid("110105194902300027")  # 30 February
    assert luhn_valid("4111111111111111") and luhn_valid("6222021234567890128")
    assert not luhn_valid("4111111111111112")


def test_generated_identifiers_are_valid_and_decoys_are_not() -> None:
    rng = np.random.default_rng(3)
    assert all(prc_id_valid(make_prc_id(rng)) for _ in range(200))
    assert not any(prc_id_valid(make_prc_id(rng, valid=False)) for _ in range(200))
    assert all(luhn_valid(make_bank_card(rng)) for _ in range(200))
    assert not any(luhn_valid(make_bank_card(rng, valid=False)) for _ in range(200))


def test_recall_and_precision_on_planted_set() -> None:
    corpus = planted_corpus(400, seed=7)
    tp = fn = fp = 0
    for item in corpus:
        found = {_norm(m.value) for m in find_pii(item.text)}
        planted = {_norm(v) for _, v in item.planted}
        tp += len(planted & found)
        fn += len(planted - found)
        fp += len(found - planted)
    recall, precision = tp / (tp + fn), tp / (tp + fp)
    assert recall >= 0.95, recall
    assert precision >= 0.95, precision


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("请联系13812345678", "phone"),
        ("call (415) 555-2671 today", "phone"),
        ("身份证号11010519491231002X。", "prc_id"),
        ("卡号6222 0212 3456 7890 128", "bank_card"),
        ("邮箱zhang.wei@qq.com谢谢", "email"),
        ("from 10.1.2.3.", "ip"),
        ("ip 2001:db8::8a2e:370:7334", "ip"),
        ("护照E12345678", "passport"),
        ("passport number: K1234567", "passport"),
        ("我叫王芳，", "name"),
        ("寄到上海市浦东新区世纪大道100号", "address"),
    ],
)
def test_each_kind_found_in_context(text: str, kind: str) -> None:
    assert kind in {m.kind for m in find_pii(text)}


@pytest.mark.parametrize(
    "text",
    [
        "订单号 20240506123456 金额 199.00 元",
        "at 12:30:45 on 2024-05-06, version 1.2.3",
        "tracking 4111111111111112",
        "参考编号 110105194912310021",  # ID with a wrong check character
        "SKU AB123456 in stock",  # passport-like, but nothing says passport
        '{"下单时间":"2024-10-28 01:24:59","金额":"298.90"}',  # timestamps are not phone numbers
    ],
)
def test_look_alikes_are_not_pii(text: str) -> None:
    assert find_pii(text) == []


def test_scrub_text_replaces_with_typed_placeholders() -> None:
    text = "我叫张伟，手机13812345678，邮箱 zhang.wei@qq.com，身份证11010519491231002X"
    out = scrub_text(text)
    assert out == "我叫<NAME>，手机<PHONE>，邮箱 <EMAIL>，身份证<PRC_ID>"
    assert scrub_text("no pii here") == "no pii here"
    assert scrub_text("ask Mr Lee", known=["Mr Lee"]) == "ask <PII>"


def test_column_hints() -> None:
    assert column_hint("Customer Email") == ("email", "direct")
    assert column_hint("手机号码") == ("phone", "direct")
    assert column_hint("given_name") == ("name", "direct")
    assert column_hint("product_name") is None
    assert column_hint("date_of_birth") == ("birth_date", "quasi")
    assert column_hint("amount") is None


def test_scan_finds_pii_in_unexpected_column(engine) -> None:
    frame = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(50)],
            "notes": [f"call me on 1381234{i:04d}" if i % 3 == 0 else "thanks" for i in range(50)],
            "amount": np.arange(50, dtype=float),
            "comment_free": ["ok"] * 50,
        }
    )
    engine.write_table("orders_raw", frame)
    rows = {r["column"]: r for r in scan_table(engine, "orders_raw")}
    assert rows["notes"]["verdict"] == "pii" and rows["notes"]["kinds"] == {"phone": 17}
    assert rows["order_id"]["verdict"] == "clean" and rows["comment_free"]["verdict"] == "clean"
    assert scan_values(["pz_" + "a" * 32] * 10, "email")["verdict"] == "pseudonymised"


def test_feature_table_and_model_file_hold_no_clear_identifier(engine, tmp_path) -> None:
    """After pseudonymisation a feature table built from the data, and a model trained on it, hold no identifier."""
    rng = np.random.default_rng(0)
    emails = [f"user{i}@example.com" for i in range(60)]
    phones = [f"+86138{i:08d}" for i in range(60)]
    engine.write_table(
        "staged", pd.DataFrame({"customer_key": emails, "phone": phones, "spend": rng.gamma(2, 50, 60)})
    )
    pseudonymise_columns(engine, "staged", ["customer_key", "phone"], KEY)
    engine.execute(
        "CREATE TABLE features AS SELECT customer_key, phone, spend, spend > 100 AS big FROM staged"
    )
    assert all(r["verdict"] in ("pseudonymised", "clean") for r in scan_table(engine, "features"))
    frame = engine.table("features").to_pandas()
    model = LogisticRegression().fit(frame[["spend"]], frame["big"])
    model.feature_names_in_ = np.array(
        list(frame.columns[:1]), dtype=object
    )  # a model that keeps column names
    model.train_index_ = frame["customer_key"].to_numpy()  # and one that (wrongly) keeps row keys
    blob = pickle.dumps(model)
    (tmp_path / "model.pkl").write_bytes(blob)
    data = (tmp_path / "model.pkl").read_bytes()
    assert not any(v.encode() in data for v in emails + phones)
    assert b"pz_" in data  # the row keys that leaked are tokens, not identifiers
