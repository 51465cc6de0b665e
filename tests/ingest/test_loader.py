"""Loading files into the canonical tables: cleaning, quarantine, reconciliation, idempotence."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from crmlens.config import parse_config
from crmlens.engine import DuckDBEngine
from crmlens.exceptions import SourceError, ValidationError
from crmlens.ingest import Loader


def load(tmp_path: Path, sources: list[dict], engine: DuckDBEngine | None = None, **project):
    config = parse_config({"warehouse": "w.duckdb", "sources": sources, **project})
    engine = engine or DuckDBEngine(tmp_path / "w.duckdb")
    loader = Loader(engine, config, tmp_path)
    return engine, loader.load_all()


def rows(engine: DuckDBEngine, sql: str) -> list[dict]:
    return engine.query(sql).to_pandas().to_dict("records")


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


ORDERS = {"name": "shop", "kind": "csv", "path": "orders.csv", "entity": "orders"}


def test_gb18030_chinese_headers_and_cleaning(tmp_path: Path) -> None:
    write(
        tmp_path / "orders.csv",
        "订单号,客户ID,下单时间,数量,金额,备注\n"
        "A1,c1,2024-01-02 10:00:00,1,¥12.50,首单\n"
        'A2,Ｃ２,2024年1月3日,２,"1.234,50",\n'
        "A3,c3,2024-01-04T08:00:00+00:00,1,(5.00),\n",
        "gb18030",
    )
    engine, (result,) = load(tmp_path, [ORDERS])
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)
    got = {r["order_id"]: r for r in rows(engine, "SELECT * FROM orders")}
    assert got["A1"]["amount"] == 12.5
    assert str(got["A1"]["ts"]) == "2024-01-02 02:00:00"  # Asia/Shanghai to UTC
    assert got["A2"]["customer_key"] == "C2"  # full-width folded
    assert got["A2"]["quantity"] == 2 and got["A2"]["amount"] == 1234.5  # decimal comma
    assert str(got["A2"]["ts"]) == "2024-01-02 16:00:00"
    assert str(got["A3"]["ts"]) == "2024-01-04 08:00:00"  # explicit offset kept
    assert got["A3"]["amount"] == -5.0  # accounting negative
    assert json.loads(got["A1"]["attributes"]) == {"备注": "首单"}  # unmapped column kept, not dropped
    assert [r["line_no"] for r in got.values()] == [1, 1, 1]


def test_encodings_detected(tmp_path: Path) -> None:
    for i, encoding in enumerate(["utf-8-sig", "big5", "latin-1"]):
        name = "王小明" if encoding != "latin-1" else "José Müller"
        write(tmp_path / f"c{i}.csv", f"customer_key,name\nk{i},{name}\n", encoding)
    sources = [{"name": f"s{i}", "kind": "csv", "path": f"c{i}.csv", "entity": "customers"} for i in range(3)]
    engine, results = load(tmp_path, sources)
    assert all(r.rows_loaded == 1 for r in results)
    names = sorted(r["name"] for r in rows(engine, "SELECT name FROM source_customers"))
    assert names == sorted(["王小明", "王小明", "José Müller"])


def test_customer_cleaning_phone_email_consent(tmp_path: Path) -> None:
    write(
        tmp_path / "c.csv",
        "客户ID,姓名,邮箱,手机号,生日,营销同意\n"
        "k1, 张伟 ,Zhang.Wei@Example.COM,138 0013 8000,1990/05/06,是\n"
        "k2,Ｌｉ Ｎａ,not-an-email,+86-139-0013-9000,06.07.1985,0\n"
        "k3,王芳,,12,,yes\n",
    )
    source = {"name": "crm", "kind": "csv", "path": "c.csv", "entity": "customers"}
    engine, (result,) = load(tmp_path, [source])
    assert result.rows_quarantined == 1  # k2's birth date is not a date in Y-M-D order
    got = {r["customer_key"]: r for r in rows(engine, "SELECT * FROM source_customers")}
    assert got["k1"]["name"] == "张伟" and got["k1"]["email"] == "zhang.wei@example.com"
    assert got["k1"]["phone"] == "+8613800138000"
    assert str(got["k1"]["birth_date"])[:10] == "1990-05-06" and got["k1"]["consent_marketing"] is True
    assert pd.isna(got["k3"]["phone"])  # too short to be a phone: nulled, original kept
    assert json.loads(got["k3"]["attributes"])["_invalid_phone"] == "12"
    (bad,) = rows(engine, "SELECT * FROM quarantine")
    assert bad["row_number"] == 2 and bad["column_name"] == "birth_date"
    assert "06.07.1985" in bad["reason"]


def test_bad_rows_quarantined_with_row_and_reason(tmp_path: Path) -> None:
    write(tmp_path / "products.csv", "product_id,name,price\np1,Tea,10\n")
    write(
        tmp_path / "orders.csv",
        "order_id,customer_key,ts,product_id,quantity,amount\n"
        "A1,c1,2024-01-02,p1,1,10\n"  # row 1: fine
        "A2,c2,2024-13-45,p1,1,10\n"  # row 2: bad date
        "A3,c3,2024-01-02,p1,-1,10\n"  # row 3: negative quantity
        "A4,c4,2024-01-02,p9,1,10\n"  # row 4: unknown product
        "A5,c5,2024-01-02,p1\n"  # row 5: ragged
        "A6,c6,2024-01-02,p1,1,ten\n"  # row 6: amount not a number
        "A1,c1,2024-01-02,p1,1,10\n",  # row 7: exact duplicate of row 1
    )
    products = {"name": "products", "kind": "csv", "path": "products.csv", "entity": "products"}
    engine, results = load(tmp_path, [ORDERS, products])  # load order puts products first
    orders = results[-1]
    assert orders.rows_in == 7 and orders.rows_loaded == 1 and orders.rows_quarantined == 6
    reasons = {
        r["row_number"]: (r["column_name"], r["reason"]) for r in rows(engine, "SELECT * FROM quarantine")
    }
    assert set(reasons) == {1, 2, 3, 4, 5, 6}  # the last copy of a duplicate wins
    assert reasons[2][0] == "ts" and "2024-13-45" in reasons[2][1]
    assert reasons[3][0] == "quantity"
    assert reasons[4] == ("product_id", "product_id: unknown product_id p9")
    assert reasons[5][1].startswith("malformed line")
    assert reasons[6][0] == "amount" and "ten" in reasons[6][1]
    assert "exact duplicate of row 7" in reasons[1][1]
    raw = json.loads(rows(engine, "SELECT raw FROM quarantine WHERE row_number = 2")[0]["raw"])
    assert raw["ts"] == "2024-13-45"  # the raw row is kept as it came
    duplicate = json.loads(rows(engine, "SELECT raw FROM quarantine WHERE row_number = 1")[0]["raw"])
    assert duplicate["order_id"] == "A1" and duplicate["amount"] == 10  # a duplicate keeps its cleaned values
    assert duplicate["_values"].startswith("cleaned")  # and says so


@pytest.mark.parametrize("load_memory_limit", ["1GB", "100MB"])  # a tight limit still loads
def test_row_numbers_exact_across_many_chunks(tmp_path: Path, load_memory_limit: str) -> None:
    n, bad_rows, ragged = 120_000, {3, 70_001, 119_999}, 50_000
    lines = ["order_id,customer_key,ts,amount"]
    for i in range(1, n + 1):
        if i == ragged:
            lines.append(f"O{i},c")
        else:
            lines.append(f"O{i},c{i % 97},{'bad' if i in bad_rows else '2024-02-03'},{i}")
    write(tmp_path / "orders.csv", "\n".join(lines) + "\n")
    engine = DuckDBEngine(tmp_path / "w.duckdb", memory_limit="3GB")
    engine, (result,) = load(tmp_path, [ORDERS], engine, load_memory_limit=load_memory_limit)
    restored = engine.query("SELECT current_setting('memory_limit')").scalar()
    assert restored == "2.7 GiB"  # the engine's own limit is back after the load
    assert result.rows_in == n and result.rows_loaded == n - 4
    got = {r["row_number"] for r in rows(engine, "SELECT row_number FROM quarantine")}
    assert got == bad_rows | {ragged}
    assert (
        rows(engine, "SELECT row_number FROM orders WHERE order_id = 'O100000'")[0]["row_number"] == 100_000
    )


def test_reload_is_idempotent_and_changes_upsert(tmp_path: Path) -> None:
    path = write(
        tmp_path / "orders.csv", "order_id,customer_key,ts,amount\nA1,c1,2024-01-02,10\nA2,c2,2024-01-02,20\n"
    )
    engine, _ = load(tmp_path, [ORDERS])
    _, (again,) = load(tmp_path, [ORDERS], engine=engine)
    assert again.status == "unchanged" and engine.count("orders") == 2
    write(path, "order_id,customer_key,ts,amount\nA2,c2,2024-01-02,25\nA3,c3,2024-01-03,30\n")
    _, (changed,) = load(tmp_path, [ORDERS], engine=engine)
    assert changed.rows_loaded == 2
    amounts = {r["order_id"]: r["amount"] for r in rows(engine, "SELECT order_id, amount FROM orders")}
    assert amounts == {"A1": 10, "A2": 25, "A3": 30}


def test_same_content_under_a_new_name_adds_nothing(tmp_path: Path) -> None:
    """Loads are idempotent by content, not by file name."""
    text = "order_id,customer_key,ts,amount\nA1,c1,2024-01-02,10\nA2,c2,2024-01-02,20\n"
    write(tmp_path / "orders.csv", text)
    engine, _ = load(tmp_path, [ORDERS])
    write(tmp_path / "orders_copy.csv", text)
    _, (copy,) = load(tmp_path, [{**ORDERS, "path": "orders_copy.csv"}], engine=engine)
    assert copy.status == "unchanged" and engine.count("orders") == 2
    logged = rows(engine, "SELECT file, file_hash, status FROM ingest_log ORDER BY finished_at")
    assert [r["status"] for r in logged] == ["loaded", "unchanged"]
    assert logged[0]["file_hash"] == logged[1]["file_hash"] != ""
    assert engine.count("quarantine") == 0


def test_every_load_reconciles_and_is_logged(tmp_path: Path) -> None:
    write(
        tmp_path / "orders.csv", "order_id,customer_key,ts,amount\nA1,c1,2024-01-02,10\nA2,,2024-01-02,20\n"
    )
    engine, (result,) = load(tmp_path, [ORDERS])
    assert set(result.steps) == {"read_clean", "duplicates", "write", "quarantine"}  # where the time went
    assert sum(result.steps.values()) <= result.seconds
    (log,) = rows(engine, "SELECT * FROM ingest_log")
    assert log["rows_in"] == log["rows_loaded"] + log["rows_quarantined"] == 2
    assert log["file_hash"] and log["status"] == "loaded"
    assert (
        "customer_key: required value is missing"
        in rows(engine, "SELECT reason FROM quarantine")[0]["reason"]
    )


def test_glob_loads_each_file(tmp_path: Path) -> None:
    for i in range(3):
        write(tmp_path / f"orders_{i}.csv", f"order_id,customer_key,ts,amount\nA{i},c,2024-01-02,1\n")
    engine, results = load(tmp_path, [{**ORDERS, "path": "orders_*.csv"}])
    assert len(results) == 3 and engine.count("orders") == 3


def test_json_ndjson_parquet_excel(tmp_path: Path) -> None:
    import pandas as pd

    write(
        tmp_path / "e.ndjson",
        '{"customer_key": "c1", "ts": "2024-01-02T10:00:00+08:00", "event_type": "view"}\n',
    )
    write(
        tmp_path / "t.json",
        json.dumps(
            [
                {
                    "ticket_id": "T1",
                    "customer_key": "c1",
                    "created": "2024-01-02",
                    "subject": "退款",
                    "body": "请退款",
                }
            ]
        ),
    )
    pd.DataFrame({"feedback_id": ["F1"], "text": ["好评"], "rating": [5]}).to_parquet(tmp_path / "f.parquet")
    pd.DataFrame({"product_id": ["p1"], "name": ["茶"], "price": ["¥10"]}).to_excel(
        tmp_path / "p.xlsx", index=False
    )
    sources = [
        {"name": "web", "kind": "ndjson", "path": "e.ndjson", "entity": "events"},
        {"name": "desk", "kind": "json", "path": "t.json", "entity": "tickets", "columns": {"created": "ts"}},
        {"name": "reviews", "kind": "parquet", "path": "f.parquet", "entity": "feedback"},
        {"name": "catalog", "kind": "excel", "path": "p.xlsx", "entity": "products"},
    ]
    engine, results = load(tmp_path, sources)
    assert [r.rows_loaded for r in results] == [1, 1, 1, 1]
    assert str(rows(engine, "SELECT ts FROM events")[0]["ts"]) == "2024-01-02 02:00:00"
    assert rows(engine, "SELECT price FROM products")[0]["price"] == 10.0
    assert rows(engine, "SELECT rating FROM feedback")[0]["rating"] == 5.0


# --- bad input: each a clear error naming what is wrong, and nothing half-written ---------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"shop.*file not found: orders.csv"):
        load(tmp_path, [ORDERS])


def test_empty_file(tmp_path: Path) -> None:
    write(tmp_path / "orders.csv", "")
    with pytest.raises(SourceError, match="orders.csv: the file is empty"):
        load(tmp_path, [ORDERS])


def test_unreadable_encoding(tmp_path: Path) -> None:
    body = b"".join(b"A%d,c\xff\xfe,2024-01-02,1\n" % i for i in range(20))
    (tmp_path / "orders.csv").write_bytes(b"order_id,customer_key,ts,amount\n" + body)
    with pytest.raises(SourceError, match="orders.csv: .*not valid utf-8"):
        load(tmp_path, [{**ORDERS, "encoding": "utf-8"}])


def test_mapped_header_absent(tmp_path: Path) -> None:
    write(tmp_path / "orders.csv", "order_id,customer_key,ts,amount\nA1,c1,2024-01-02,1\n")
    with pytest.raises(ValidationError, match="'订单号' is not a header of the file"):
        load(tmp_path, [{**ORDERS, "columns": {"订单号": "order_id"}}])


def test_required_column_missing(tmp_path: Path) -> None:
    write(tmp_path / "orders.csv", "order_id,customer_key,amount\nA1,c1,1\n")
    with pytest.raises(ValidationError, match=r"required column\(s\) ts missing"):
        load(tmp_path, [ORDERS])


def test_failure_leaves_warehouse_unchanged(tmp_path: Path) -> None:
    write(tmp_path / "orders.csv", "order_id,customer_key,ts,amount\nA1,c1,2024-01-02,1\n")
    engine, _ = load(tmp_path, [ORDERS])
    before = {t: engine.count(t) for t in ("orders", "quarantine", "ingest_log")}
    write(tmp_path / "orders.csv", "order_id,customer_key,amount\nA2,c1,1\n")  # now lacks ts
    with pytest.raises(ValidationError):
        load(tmp_path, [ORDERS], engine=engine)
    assert {t: engine.count(t) for t in before} == before


def test_rejects_of_one_file_do_not_leak_into_the_next(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "order_id,customer_key,ts,amount\nA1,c1,2024-01-02,1\nA2,c2\n")
    write(tmp_path / "b.csv", "order_id,customer_key,ts,amount\nB1,c1,2024-01-02,1\n")
    sources = [{**ORDERS, "name": "a", "path": "a.csv"}, {**ORDERS, "name": "b", "path": "b.csv"}]
    engine, (a, b) = load(tmp_path, sources)
    assert (a.rows_quarantined, b.rows_quarantined) == (1, 0)
    assert engine.con.execute("SELECT source, row_number FROM quarantine").fetchall() == [("a", 2)]


def test_pseudonymised_at_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMLENS_PSEUDONYM_KEY", "a-test-key-of-at-least-16-bytes")
    monkeypatch.setenv("CRMLENS_VAULT_KEY", "a-vault-key-of-at-least-16-bytes")  # clear values kept sealed
    write(tmp_path / "c.csv", "customer_key,name,email,phone\nk1,张伟,zw@example.com,13800138000\n")
    write(tmp_path / "orders.csv", "order_id,customer_key,ts,amount\nA1,k1,2024-01-02,1\n")
    sources = [
        {"name": "crm", "kind": "csv", "path": "c.csv", "entity": "customers"},
        {"name": "shop", "kind": "csv", "path": "orders.csv", "entity": "orders"},
    ]
    engine, _ = load(tmp_path, sources, privacy={"pseudonymise": True})
    (customer,) = rows(engine, "SELECT customer_key, name, email, phone FROM source_customers")
    assert not {"k1", "张伟", "zw@example.com", "+8613800138000"} & set(customer.values())
    (order,) = rows(engine, "SELECT customer_key FROM orders")
    assert order["customer_key"] == customer["customer_key"]  # tokens still join


def test_a_later_row_with_the_same_key_replaces_an_earlier_one(tmp_path: Path) -> None:
    write(
        tmp_path / "orders.csv",
        "order_id,line_no,customer_key,ts,amount,note\n"
        "A1,1,c1,2024-01-02,10,first\n"  # row 1: replaced by row 3
        "A2,1,c2,2024-01-02,20,\n"
        "A1,1,c1,2024-01-03,12,corrected\n",
    )
    engine, (result,) = load(tmp_path, [ORDERS])
    assert result.rows_loaded == 2 and result.rows_quarantined == 1
    assert rows(engine, "SELECT amount FROM orders WHERE order_id = 'A1'") == [{"amount": 12}]
    (bad,) = rows(engine, "SELECT row_number, reason, raw FROM quarantine")
    assert (
        bad["row_number"] == 1 and "same key (order_id, line_no) as row 3, which replaces it" in bad["reason"]
    )
    raw = json.loads(bad["raw"])
    assert raw["amount"] == 10 and raw["note"] == "first"  # its values and unmapped columns are kept


@pytest.mark.parametrize("n_ragged", [3, 70])  # a few shift row numbers inline, many by a join
def test_row_numbers_skip_every_ragged_line(tmp_path: Path, n_ragged: int) -> None:
    ragged = set(range(5, 5 + 2 * n_ragged, 2))  # every other row from row 5 is malformed
    lines = ["order_id,customer_key,ts,amount"]
    for i in range(1, 400):
        lines.append(f"O{i},c" if i in ragged else f"O{i},c{i},2024-02-03,{i}")
    write(tmp_path / "orders.csv", "\n".join(lines) + "\n")
    engine, (result,) = load(tmp_path, [ORDERS])
    assert result.rows_in == 399 and result.rows_quarantined == n_ragged
    numbers = {
        r["order_id"]: r["row_number"] for r in rows(engine, "SELECT order_id, row_number FROM orders")
    }
    assert all(numbers[f"O{i}"] == i for i in range(1, 400) if i not in ragged)
    assert {r["row_number"] for r in rows(engine, "SELECT row_number FROM quarantine")} == ragged


def test_derived_line_numbers_follow_the_file_past_a_ragged_line(tmp_path: Path) -> None:
    write(
        tmp_path / "orders.csv",
        "order_id,customer_key,ts,amount\nA1,c1,2024-01-02,1\nA1,c\nA1,c1,2024-01-02,2\nA2,c2,2024-01-02,3\n",
    )
    engine, (result,) = load(tmp_path, [ORDERS])
    assert result.rows_loaded == 3 and result.rows_quarantined == 1
    got = rows(engine, "SELECT order_id, line_no, row_number, amount FROM orders ORDER BY row_number")
    assert [(r["order_id"], r["line_no"], r["row_number"], r["amount"]) for r in got] == [
        ("A1", 1, 1, 1),
        ("A1", 2, 3, 2),
        ("A2", 1, 4, 3),
    ]
