"""The demo generator: formats, planted truth that agrees with the data, and a clean load."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sqlite3
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from pypinyin import lazy_pinyin

from crmlens.config import load_config
from crmlens.datasets.demo import generate_demo
from crmlens.engine import DuckDBEngine
from crmlens.ingest import Loader

HEADER = ["订单号", "行号", "客户ID", "下单时间", "商品编号", "数量", "单价", "折扣", "金额", "渠道", "币种"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate_demo(out, customers=2000, seed=3)
    return out


def _orders(folder: Path) -> list[list[str]]:
    text = (folder / "data" / "orders_export.csv").read_bytes().decode("gb18030")
    return list(csv.reader(io.StringIO(text)))


def _day(text: str) -> date | None:
    match = re.match(r"(\d{4})\D(\d{1,2})\D(\d{1,2})", text)
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def _truth(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / "truth" / name, dtype=str, keep_default_na=False)


def _member_to_crm(folder: Path) -> dict[str, str]:
    pairs = _truth(folder, "identity_pairs.csv")
    return dict(zip(pairs["key_b"], pairs["key_a"], strict=True))


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_deterministic_under_seed(tmp_path: Path) -> None:
    generate_demo(tmp_path / "a", customers=300, seed=5)
    generate_demo(tmp_path / "b", customers=300, seed=5)
    generate_demo(tmp_path / "c", customers=300, seed=6)
    a, b, c = (_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert len(a) == 15  # yaml, 8 data files, 6 truth files
    assert a["data/orders_export.csv"] != c["data/orders_export.csv"]


def test_orders_export_is_gb18030_with_chinese_headers(demo: Path) -> None:
    raw = (demo / "data" / "orders_export.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    rows = _orders(demo)
    assert rows[0] == HEADER
    stamps = [r[3] for r in rows[1:] if len(r) == 11]
    assert sum(bool(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", s)) for s in stamps) > 0.7 * len(stamps)
    assert any(re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d", s) for s in stamps)
    assert any(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", s) for s in stamps)
    assert any(r[8].startswith("¥") for r in rows[1:] if len(r) == 11)
    days = [d for d in map(_day, stamps) if d]
    assert min(days) >= date(2024, 7, 1) and max(days) <= date(2026, 6, 30)
    keys = Counter(r[2][0] for r in rows[1:])
    assert keys["C"] > keys["M"] > 0.05 * len(rows)  # web-shop orders of members carry the member key


def test_project_file_maps_every_source(demo: Path) -> None:
    config = load_config(demo / "crmlens.yaml")
    entities = {s.name: s.entity for s in config.sources}
    assert entities == {
        "products": "products",
        "crm": "source_customers",
        "shop_members": "source_customers",
        "orders": "orders",
        "web_events": "events",
        "reviews": "feedback",
        "tickets": "tickets",
        "campaigns": "campaign_contacts",
    }
    for source in config.sources:
        assert (demo / source.path).exists(), source.path
    assert config.source("crm").incremental is not None
    assert config.timezone == "Asia/Shanghai" and config.default_region == "CN"
    events = [
        json.loads(line) for line in (demo / "data" / "web_events.ndjson").read_text().splitlines()[:200]
    ]
    assert all(e["ts"].endswith("+08:00") for e in events)
    assert {e["event_type"] for e in events} <= {"view", "cart", "purchase", "search"}
    tickets = json.loads((demo / "data" / "tickets.json").read_text(encoding="utf-8"))
    assert any("投诉" in t["body"] or "退款" in t["body"] or "fraud" in t["body"] for t in tickets)
    assert {t["priority"] for t in tickets} >= {"urgent", "normal"}


def test_same_people_under_other_keys_with_planted_variations(demo: Path) -> None:
    con = sqlite3.connect(demo / "data" / "crm.sqlite")
    crm = {r[0]: r for r in con.execute("SELECT customer_key, name, email, phone, birth_date FROM customers")}
    con.close()
    members = pd.read_csv(demo / "data" / "shop_members.csv", dtype=str, keep_default_na=False).set_index(
        "member_id"
    )
    pairs = _truth(demo, "identity_pairs.csv")
    assert 0.25 < len(pairs) / len(crm) < 0.35
    assert set(pairs["key_a"]) <= set(crm) and set(pairs["key_b"]) <= set(members.index)
    shop_only = set(members.index) - set(pairs["key_b"])
    assert 0.03 < len(shop_only) / len(crm) < 0.07
    seen: Counter[str] = Counter()
    for _, pair in pairs.iterrows():
        _, name, email, phone, birth = crm[pair["key_a"]]
        member = members.loc[pair["key_b"]]
        variations = set(filter(None, pair["variations"].split("|")))
        seen.update(variations)
        if "pinyin_name" in variations and "name_typo" not in variations:
            assert member["full_name"].replace(" ", "").lower() == "".join(lazy_pinyin(name))
        if not variations & {"pinyin_name", "name_typo"}:
            assert member["full_name"] == name
        if "email_case" in variations:
            assert member["e_mail"] != email and member["e_mail"].lower() == email
        if "email_changed" in variations:
            assert member["e_mail"].split("@")[0] == email.split("@")[0] and member["e_mail"] != email
        if phone:
            assert re.sub(r"\D", "", member["mobile"])[-11:] == re.sub(r"\D", "", phone)[-11:]
            assert (member["mobile"] != phone) == ("phone_format" in variations)
        if "birth_date_missing" in variations:
            assert member["birthday"] == "" and birth
    for kind in (
        "pinyin_name",
        "name_typo",
        "email_changed",
        "email_case",
        "phone_format",
        "birth_date_missing",
    ):
        assert seen[kind] >= 10, kind


def test_churners_decay_and_churn_label_matches_orders(demo: Path) -> None:
    customers = _truth(demo, "customers.csv").set_index("customer_key")
    to_crm = _member_to_crm(demo)
    dirty = set(
        _truth(demo, "dirty_rows.csv").query("file == 'data/orders_export.csv'")["row_number"].astype(int)
    )
    days: dict[str, list[date]] = defaultdict(list)
    for n, row in enumerate(_orders(demo)[1:], start=1):
        day = _day(row[3]) if n not in dirty else None
        if day:
            days[to_crm.get(row[2], row[2])].append(day)
    label_from, label_to = date(2026, 4, 1), date(2026, 4, 1) + timedelta(days=90)
    for key, row in customers.iterrows():
        ordered_after = any(label_from <= d < label_to for d in days.get(key, []))
        assert int(row["will_churn"]) == (not ordered_after), key
    churners = customers[customers["churn_date"] != ""]
    assert len(churners) > 200 and (churners["will_churn"] == "1").all()
    early = late = 0  # orders 90-150 days before the churn date against the last 60 days
    for key, row in churners.iterrows():
        stop = date.fromisoformat(row["churn_date"])
        early += sum(stop - timedelta(days=150) <= d < stop - timedelta(days=90) for d in days.get(key, []))
        late += sum(stop - timedelta(days=60) <= d <= stop for d in days.get(key, []))
        assert all(d <= stop for d in days.get(key, [])), key
    assert late < 0.4 * early
    # visits decay too
    visits: Counter[tuple[str, str]] = Counter()
    stops = {k: date.fromisoformat(v) for k, v in churners["churn_date"].items()}
    for line in (demo / "data" / "web_events.ndjson").read_text().splitlines():
        event = json.loads(line)
        key = to_crm.get(event["customer_key"], event["customer_key"])
        if key in stops:
            gap = (stops[key] - date.fromisoformat(event["ts"][:10])).days
            visits["early" if 90 <= gap < 150 else "late" if 0 <= gap < 60 else "other"] += 1
    assert visits["late"] < 0.4 * visits["early"]


def test_segments_are_recoverable_from_behaviour(demo: Path) -> None:
    customers = _truth(demo, "customers.csv").set_index("customer_key")
    to_crm = _member_to_crm(demo)
    stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])  # lines, spend, discount
    for row in _orders(demo)[1:]:
        if len(row) == 11 and _day(row[3]) and _day(row[3]) < date(2026, 4, 1):
            s = stats[to_crm.get(row[2], row[2])]
            s[0] += 1
            s[1] += float(row[8].lstrip("¥"))
            s[2] += float(row[7])
    frame = pd.DataFrame.from_dict(stats, orient="index", columns=["lines", "spend", "discount"])
    frame = frame.join(customers["true_segment"], how="inner")
    frame["discount_share"] = frame["discount"] / (frame["spend"] + frame["discount"])
    by = frame.groupby("true_segment").median()
    assert by["lines"].idxmax() == "champions" and by["spend"].idxmax() == "champions"
    assert by["discount_share"].idxmax() == "discount_hunters"
    assert by.loc["drifting", "lines"] < by.loc["loyal_regulars", "lines"]
    # champions are the high-value segment by a margin, not by a shade
    assert by.loc["champions", "spend"] > 3 * by.loc["loyal_regulars", "spend"]
    # "new" is observable: new customers joined within four months of the cutoff, the others a year before
    with sqlite3.connect(demo / "data" / "crm.sqlite") as con:
        signup = pd.read_sql("SELECT customer_key, signup_at FROM customers", con).set_index("customer_key")
    days = (pd.Timestamp("2026-04-01") - pd.to_datetime(signup["signup_at"])).dt.days
    segment = customers["true_segment"].reindex(days.index)
    assert days[segment == "new_customers"].between(10, 121).all()
    assert (days[segment != "new_customers"] >= 360).all()


def test_planted_truth_agrees_with_the_data(demo: Path) -> None:
    rows = _orders(demo)
    products = pd.read_csv(demo / "data" / "products.csv", dtype={"price": float}).set_index("product_id")
    lines = {(r[0], r[1]): r for r in rows[1:] if len(r) == 11}
    anomalies = _truth(demo, "anomalies.csv")
    assert 0.003 < len(anomalies) / len(lines) < 0.01
    assert set(anomalies["kind"]) == {"huge_quantity", "price_below_list", "amount_mismatch", "order_burst"}
    bursts: dict[str, list[str]] = defaultdict(list)
    for order_id, line_no, kind in anomalies.itertuples(index=False):
        r = lines[(order_id, line_no)]
        qty, price, amount = int(r[5]), float(r[6]), float(r[8].lstrip("¥"))
        if kind == "huge_quantity":
            assert qty >= 80
        elif kind == "price_below_list":
            assert price < 0.1 * products.loc[r[4], "price"]
        elif kind == "amount_mismatch":
            assert amount > 5 * qty * price
        else:
            bursts[r[2]].append(r[3])
    for stamps in bursts.values():
        assert len(stamps) >= 6
        assert (pd.Timestamp(max(stamps)) - pd.Timestamp(min(stamps))).total_seconds() <= 600 * len(stamps)
    # the negative spike: kitchenware reviews about slow delivery, inside a known window
    spike = json.loads((demo / "truth" / "negative_spike.json").read_text())
    reviews = pd.read_csv(demo / "data" / "reviews.csv", parse_dates=["ts"])
    reviews["category"] = reviews["product_id"].map(products["category"])
    bad = reviews[
        (reviews["rating"] <= 2)
        & (reviews["category"] == spike["category"])
        & reviews["text"].str.contains("物流|快递|Delivery|parcel|package|shipping", case=False)
    ]
    inside = bad["ts"].between(spike["start"], spike["end"], inclusive="left")
    weeks_outside = (pd.Timestamp("2026-07-01") - pd.Timestamp("2024-07-01")).days / 14 - 1
    assert inside.sum() >= spike["planted_reviews"] > 5
    assert inside.sum() > 5 * (1 + (~inside).sum() / weeks_outside)
    # ratings agree with the text: five stars never carry a negative template
    assert not reviews[reviews["rating"] == 5]["text"].str.contains("太慢|很差|Terrible|broke").any()
    assert 0.6 < reviews["text"].str.contains(r"[\u4e00-\u9fff]").mean() < 0.8
    # the campaign: randomised with a control group, the effect differs by segment
    contacts = pd.read_csv(demo / "data" / "campaign_contacts.csv")
    assert 0.2 < 1 - contacts["treatment"].mean() < 0.3
    truth = _truth(demo, "customers.csv").set_index("customer_key")
    contacts["segment"] = contacts["customer_key"].map(truth["true_segment"])
    contacts["true_uplift"] = contacts["customer_key"].map(truth["true_uplift"]).astype(float)
    true = contacts.groupby("segment")["true_uplift"].mean()
    assert true["discount_hunters"] > 0.1 and abs(true["champions"]) < 0.02 and true["drifting"] < 0
    hunters = contacts[contacts["segment"] == "discount_hunters"].groupby("treatment")["responded"].mean()
    assert hunters[1] - hunters[0] > 0.05


def test_dirty_rows_are_where_the_truth_says(demo: Path) -> None:
    rows = _orders(demo)
    known = set(pd.read_csv(demo / "data" / "products.csv")["product_id"])
    dirty = _truth(demo, "dirty_rows.csv")
    kinds = Counter(dirty["kind"])
    for kind in (
        "bad_date",
        "negative_quantity",
        "unknown_product",
        "ragged_line",
        "exact_duplicate",
        "bad_birthday",
    ):
        assert kinds[kind] >= 3, kind
    for _, d in dirty[dirty["file"] == "data/orders_export.csv"].iterrows():
        row = rows[int(d["row_number"])]
        if d["kind"] == "bad_date":
            assert _day(row[3]) is None
        elif d["kind"] == "negative_quantity":
            assert int(row[5]) < 0
        elif d["kind"] == "unknown_product":
            assert row[4] not in known
        elif d["kind"] == "ragged_line":
            assert len(row) < 11
        else:
            assert row == rows[int(d["duplicate_of"])]
    members = list(csv.reader((demo / "data" / "shop_members.csv").open(encoding="utf-8")))
    for _, d in dirty[dirty["file"] == "data/shop_members.csv"].iterrows():
        birthday = members[int(d["row_number"])][4]
        with pytest.raises(ValueError):
            date.fromisoformat(birthday)


@pytest.fixture(scope="module")
def loaded(demo: Path):  # noqa: ANN201 - (engine, results)
    engine = DuckDBEngine(":memory:")
    results = Loader(engine, load_config(demo / "crmlens.yaml"), demo).load_all()
    yield engine, results
    engine.close()


def test_loads_through_the_loader_and_quarantines_the_planted_rows(demo: Path, loaded) -> None:  # noqa: ANN001
    engine, results = loaded
    for result in results:
        assert result.rows_in == result.rows_loaded + result.rows_quarantined, result
    counts = {r.source: r for r in results}
    assert counts["crm"].rows_loaded == 2000 and counts["products"].rows_loaded == 120
    events = len((demo / "data" / "web_events.ndjson").read_text().splitlines())
    assert counts["web_events"].rows_in == counts["web_events"].rows_loaded == events
    quarantine = engine.query("SELECT source, row_number FROM quarantine").to_pandas()
    quarantined = {(s, int(n)) for s, n in quarantine.itertuples(index=False)}
    source_of = {"data/orders_export.csv": "orders", "data/shop_members.csv": "shop_members"}
    planted = set()
    for _, d in _truth(demo, "dirty_rows.csv").iterrows():
        row = int(d["row_number"])
        if d["kind"] == "exact_duplicate":  # the loader keeps one copy; either may be the one it rejects
            row = row if (source_of[d["file"]], row) in quarantined else int(d["duplicate_of"])
        planted.add((source_of[d["file"]], row))
    assert {q for q in quarantined if q[0] in ("orders", "shop_members")} == planted
    assert counts["orders"].rows_in == len(_orders(demo)) - 1


def test_clean_sources_have_nothing_in_quarantine(loaded) -> None:  # noqa: ANN001
    engine, _ = loaded
    others = engine.query(
        "SELECT source, count(*) AS n FROM quarantine WHERE source NOT IN ('orders', 'shop_members') GROUP BY 1"
    ).to_pandas()
    assert others.empty, others.to_dict("records")


@pytest.mark.db
def test_writes_the_crm_table_to_postgres_when_asked(tmp_path: Path) -> None:
    import psycopg
    from tests.dbservers import postgres_url

    base = postgres_url()
    with psycopg.connect(base, autocommit=True) as admin:  # a database of its own: other tests use `test`
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = 'crmlens_demo'").fetchone():
            admin.execute("CREATE DATABASE crmlens_demo")
    url = base.rsplit("/", 1)[0] + "/crmlens_demo"
    paths = generate_demo(tmp_path, customers=120, seed=2, postgres_url=url)
    with psycopg.connect(url) as pg:
        rows = pg.execute(
            "SELECT customer_key, email, consent_marketing FROM customers ORDER BY 1"
        ).fetchall()
    con = sqlite3.connect(paths.data_dir / "crm.sqlite")
    expected = con.execute(
        "SELECT customer_key, email, consent_marketing = 1 FROM customers ORDER BY 1"
    ).fetchall()
    con.close()
    assert rows == [(k, e, bool(c)) for k, e, c in expected] and len(rows) == 120
    assert "#   kind: postgres" in paths.project_file.read_text(encoding="utf-8")
    load_config(paths.project_file)
