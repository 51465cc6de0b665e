"""The built-in demo: one fictional retailer, "Lotus & Pine", seen through eight sources.

The generator is a small statistical model of customers, not a bag of random rows: each person
has a behavioural segment (order rate and rhythm, basket, category mix, discount habit), a life
span and, for churners, a decay of orders and visits before they stop. Orders, visits, reviews,
tickets and a campaign are drawn from that model, then written the way real exports look (a
GB18030 CSV with Chinese headers, mixed date formats, the same person under two keys, dirty rows). What was
planted is saved in ``truth/`` so later stages can be checked against it.

Everything is vectorised with numpy and written in chunks of people, so one million customers
(about 24 million order lines) fit in bounded memory; DuckDB sorts and formats the order file.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> paths = generate_demo(Path(tempfile.mkdtemp()), customers=200, seed=1)
>>> paths.project_file.name
'crmlens.yaml'
"""

from __future__ import annotations

import csv
import functools
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pypinyin import lazy_pinyin

from crmlens.datasets import _demo_vocab as vocab
from crmlens.exceptions import ConfigError

__all__ = ["CUTOFF", "DemoPaths", "SEGMENTS", "generate_demo"]

DAY = 86_400
START = np.datetime64("2024-07-01T00:00:00", "s")  # first day of the order history (local time)
END = np.datetime64("2026-07-01T00:00:00", "s")  # exclusive end of every history
CUTOFF = "2026-03-31"  # churn label: no order in the 90 days after this date
_LABEL_FROM = np.datetime64("2026-04-01T00:00:00", "s")
_LABEL_TO = _LABEL_FROM + np.timedelta64(90 * DAY, "s")
_EVENTS_FROM = np.datetime64("2025-07-01T00:00:00", "s")  # the web log keeps 12 months
_CAMPAIGN_AT = np.datetime64("2026-02-16T10:00:00", "s")
CAMPAIGN_ID = "CMP-2026-SPRING"
SPIKE_CATEGORY = "kitchenware"
_SPIKE_FROM = np.datetime64("2026-01-05T00:00:00", "s")
_SPIKE_TO = np.datetime64("2026-01-19T00:00:00", "s")  # exclusive: two weeks

SEGMENTS = ["champions", "loyal_regulars", "discount_hunters", "new_customers", "drifting"]
_SHARE = np.array([0.10, 0.22, 0.23, 0.15, 0.30])
_ORDERS_PER_MONTH = np.array([1.8, 0.8, 0.65, 0.8, 0.2])
_CHURN_P = np.array([0.03, 0.08, 0.15, 0.25, 0.60])
_EXTRA_LINES = np.array([1.2, 0.4, 0.3, 0.3, 0.2])  # lines per order = 1 + Poisson(this)
_EXTRA_QTY = np.array([0.4, 0.2, 0.5, 0.2, 0.2])
# gamma shape of the gaps between a person's orders: 1 is a Poisson process (buying at random
# moments); loyal regulars restock on a steady rhythm, so their gaps vary about half as much
_GAP_SHAPE = np.array([1.0, 4.0, 1.0, 1.0, 1.0])
_DISCOUNT_P = np.array([0.05, 0.10, 0.75, 0.30, 0.15])
_FAVOURITE_P = 0.4  # share of lines from the person's favourite category
# category mix per segment, in vocab.CATEGORIES order: tea, snacks, kitchenware, apparel, electronics, beauty
_CAT_MIX = np.array(
    [
        [0.08, 0.06, 0.12, 0.12, 0.34, 0.28],
        [0.38, 0.27, 0.12, 0.08, 0.05, 0.10],
        [0.08, 0.32, 0.15, 0.30, 0.05, 0.10],
        [0.20, 0.20, 0.15, 0.15, 0.15, 0.15],
        [0.25, 0.25, 0.15, 0.15, 0.10, 0.10],
    ]
)
_DECAY_DAYS = 150  # churners' order and visit rates fall to almost nothing over this many days
_CAMPAIGN_P0 = np.array([0.30, 0.12, 0.06, 0.10, 0.06])  # response without the offer
_CAMPAIGN_TAU = np.array([0.00, 0.04, 0.18, 0.08, -0.03])  # what the offer adds (the uplift)
_CAMPAIGN_AOV = np.array([420.0, 180.0, 110.0, 150.0, 120.0])
_CHANNELS = ["web", "app", "store", "wechat"]
_CHANNEL_P = np.array([0.35, 0.35, 0.15, 0.15])
_SHOP_DUP_SHARE = 0.30  # CRM customers who are also web-shop members under another key
_SHOP_ONLY_SHARE = 0.05  # web-shop members not in the CRM, as a share of CRM customers
_REVIEW_P = 0.04
_TICKET_P = 0.012
_CHUNK = 50_000  # people per chunk: bounds memory at any size

_ANOMALY_KINDS = ["", "huge_quantity", "price_below_list", "amount_mismatch", "order_burst"]
_DIRTY_KINDS = ["", "bad_date", "negative_quantity", "unknown_product", "ragged_line", "exact_duplicate"]
_DIRTY_REASON = {  # a word the loader's quarantine reason contains
    "bad_date": "ts: cannot read",
    "negative_quantity": "quantity must be > 0",
    "unknown_product": "unknown product_id",
    "ragged_line": "malformed line",
    "exact_duplicate": "exact duplicate",
    "bad_birthday": "birth_date: cannot read",
}
_ORDER_HEADER = [
    "订单号",
    "行号",
    "客户ID",
    "下单时间",
    "商品编号",
    "数量",
    "单价",
    "折扣",
    "金额",
    "渠道",
    "币种",
]


@dataclass(frozen=True)
class DemoPaths:
    """Where the demo project was written."""

    project_file: Path
    data_dir: Path
    truth_dir: Path


def generate_demo(
    out_dir: Path, customers: int = 2000, seed: int = 0, postgres_url: str | None = None
) -> DemoPaths:
    """Write a ready-to-ingest demo project (``crmlens.yaml``, ``data/``, ``truth/``) into ``out_dir``.

    Deterministic under ``seed``. ``postgres_url`` also writes the CRM customers to that
    PostgreSQL database (table ``customers``, replaced) and adds a commented source for it.
    """
    if customers < 50:
        raise ConfigError(f"--customers must be at least 50 (got {customers})")
    out_dir = Path(out_dir)
    data_dir, truth_dir = out_dir / "data", out_dir / "truth"
    work = out_dir / ".demo_work"
    for folder in (data_dir, truth_dir):
        folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        _Generator(customers, seed, data_dir, truth_dir, work).run(postgres_url)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    project = out_dir / "crmlens.yaml"
    project.write_text(_project_yaml(postgres_url is not None), encoding="utf-8")
    return DemoPaths(project, data_dir, truth_dir)


# ----------------------------------------------------------------------------------------------
# people


@dataclass
class _People:
    """One row per person: CRM customers first, then web-shop members who are not in the CRM."""

    n_crm: int
    segment: np.ndarray
    signup: np.ndarray  # seconds from START (may be negative: signed up before the history)
    active_from: np.ndarray
    active_to: np.ndarray  # last possible activity (exclusive), seconds from START
    churner: np.ndarray
    rate: np.ndarray  # orders per day at full activity
    favourite: np.ndarray  # category index
    has_member: np.ndarray  # has a web-shop member key
    member_no: np.ndarray  # the number in "M-<no>", 0 when none
    consent_marketing: np.ndarray
    email_no: np.ndarray  # unique number in the e-mail address
    phone_no: np.ndarray  # unique 8 digits of the mobile number

    @property
    def size(self) -> int:
        return len(self.segment)


def _seconds(t: np.datetime64) -> int:
    return int((t - START) / np.timedelta64(1, "s"))


def _draw_people(rng: np.random.Generator, customers: int) -> _People:
    n_shop = max(1, round(_SHOP_ONLY_SHARE * customers))
    n = customers + n_shop
    segment = rng.choice(len(SEGMENTS), size=n, p=_SHARE).astype(np.int8)
    cutoff_s, end_s = _seconds(_LABEL_FROM), _seconds(END)
    signup = rng.uniform(-1095, 270, n) * DAY  # established segments: a year or more before the cutoff
    new = segment == 3
    signup[new] = cutoff_s - rng.uniform(10, 120, new.sum()) * DAY
    signup = signup.astype(np.int64)
    active_from = np.maximum(signup, 0)
    churner = rng.random(n) < _CHURN_P[segment]
    recent = rng.random(n) < 0.75  # most churners stop in the two months before the cutoff
    stop = np.where(
        recent,
        cutoff_s - rng.uniform(5, 60, n) * DAY,
        rng.uniform(active_from + 60 * DAY, np.maximum(active_from + 61 * DAY, cutoff_s - 60 * DAY)),
    )
    stop = np.clip(stop, active_from + 20 * DAY, cutoff_s - DAY).astype(np.int64)
    active_to = np.where(churner, stop, end_s)
    churner &= active_to > active_from
    rate = _ORDERS_PER_MONTH[segment] / 30.4 * rng.lognormal(0.0, 0.35, n)
    cum = _CAT_MIX.cumsum(axis=1)[segment]
    favourite = (rng.random(n)[:, None] > cum).sum(axis=1).clip(0, len(vocab.CATEGORIES) - 1).astype(np.int8)
    has_member = rng.random(n) < _SHOP_DUP_SHARE
    has_member[customers:] = True
    member_no = np.zeros(n, dtype=np.int64)
    member_no[has_member] = 10_000 + rng.choice(10 * n + 100_000, size=int(has_member.sum()), replace=False)
    consent = rng.random(n) < 0.7
    email_no = 10 + rng.permutation(n)
    phone_no = rng.choice(10**8, size=n, replace=False)
    return _People(
        customers,
        segment,
        signup,
        active_from,
        active_to,
        churner,
        rate,
        favourite,
        has_member,
        member_no,
        consent,
        email_no,
        phone_no,
    )


def _activity(people: _People, who: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Relative activity (0..1) of person ``who`` at time ``t``: a drifting trend and churn decay."""
    seg = people.segment[who]
    trend = np.where(seg == 4, 1.0 - 0.66 * t / _seconds(END), 1.0)  # drifting: 1 -> 1/3 over the history
    to = people.active_to[who]
    left = (to - t) / (_DECAY_DAYS * DAY)
    decay = np.where(people.churner[who], 0.03 + 0.97 * np.clip(left, 0, 1) ** 1.5, 1.0)
    return trend * decay


def _poisson_times(
    rng: np.random.Generator,
    people: _People,
    idx: np.ndarray,
    rate: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Times of a Poisson process per person with rate ``rate * activity`` on [lo, hi), by thinning."""
    span = np.maximum(hi - lo, 0)
    counts = rng.poisson(rate * span / DAY)
    who = np.repeat(idx, counts)
    offset = np.repeat(lo, counts) + rng.random(who.size) * np.repeat(span, counts)
    keep = rng.random(who.size) < _activity(people, who, offset)
    order = np.lexsort((offset[keep], who[keep]))
    return who[keep][order], offset[keep][order].astype(np.int64)


def _renewal_times(
    rng: np.random.Generator,
    people: _People,
    idx: np.ndarray,
    rate: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    shape: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Times per person on [lo, hi) with gamma gaps of mean ``1 / rate`` days and the given shape
    (1: a Poisson process; larger: a steadier rhythm), from a random phase, thinned by activity."""
    expected = rate * np.maximum(hi - lo, 0) / DAY
    draws = np.ceil(expected + 5 * np.sqrt(expected) + 3).astype(np.int64)  # enough gaps to pass hi
    who = np.repeat(idx, draws)
    k = np.repeat(shape, draws)
    gaps = rng.gamma(k, 1.0 / (np.repeat(rate, draws) * k))
    first = np.cumsum(draws) - draws
    total = np.cumsum(gaps)
    within = total - np.repeat(total[first] - gaps[first], draws)  # each person's own running sum
    phase = rng.random(idx.size) * gaps[first]
    offset = np.repeat(lo, draws) + (within - np.repeat(phase, draws)) * DAY
    inside = offset < np.repeat(hi, draws)
    who, offset = who[inside], offset[inside]
    keep = rng.random(who.size) < _activity(people, who, offset)
    order = np.lexsort((offset[keep], who[keep]))
    return who[keep][order], offset[keep][order].astype(np.int64)


# ----------------------------------------------------------------------------------------------
# names and contact details


@functools.lru_cache(maxsize=4096)
def _reading(chars: str) -> str:
    return "".join(lazy_pinyin(chars)).capitalize()


def _typo(rng: np.random.Generator, name: str) -> str:
    """One keyboard slip in a Latin name, or one character swapped in a Chinese name."""
    if name.isascii():
        letters = list(name)
        spots = [i for i in range(1, len(letters)) if letters[i].isalpha()]
        i = spots[int(rng.integers(len(spots)))]
        if rng.random() < 0.5:
            del letters[i]
        else:
            letters[i] = "aeiouns"[int(rng.integers(7))]
        return "".join(letters)
    i = 1 + int(rng.integers(len(name) - 1))
    return name[:i] + vocab.GIVEN_CHARS[int(rng.integers(len(vocab.GIVEN_CHARS)))] + name[i + 1 :]


def _phone_text(digits: str, style: int) -> str:
    if style == 0:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 1:
        return f"+86-{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 2:
        return digits
    return f"+86 {digits}"


def _fmt_times(seconds: np.ndarray) -> list[str]:
    text = (START + seconds.astype("timedelta64[s]")).astype(str)
    return [s.replace("T", " ") for s in text.tolist()]


@dataclass
class _Identity:
    name: str
    latin: str  # the name in pinyin or English, given name last
    email: str | None
    phone: str | None
    phone_style: int
    birth: str | None
    city: str


def _identities(rng: np.random.Generator, people: _People, idx: np.ndarray) -> list[_Identity]:
    surnames = vocab.SURNAMES
    weights = np.array([w for _, _, w in surnames])
    sur = rng.choice(len(surnames), size=idx.size, p=weights / weights.sum())
    given_len = np.where(rng.random(idx.size) < 0.6, 2, 1)
    given = rng.integers(len(vocab.GIVEN_CHARS), size=(idx.size, 2))
    kind = rng.random(idx.size)  # < 0.8 characters, < 0.92 pinyin, else English given name
    city_w = np.array([w for _, _, w in vocab.CITIES])
    city = rng.choice(len(vocab.CITIES), size=idx.size, p=city_w / city_w.sum())
    domain = rng.integers(len(vocab.EMAIL_DOMAINS), size=idx.size)
    email_style = rng.integers(3, size=idx.size)
    prefix = rng.integers(len(vocab.MOBILE_PREFIXES), size=idx.size)
    phone_style = rng.integers(4, size=idx.size)
    age_days = rng.uniform(18 * 365.25, 70 * 365.25, idx.size).astype("timedelta64[D]")
    birth = (np.datetime64("2026-01-01") - age_days).astype(str).tolist()
    no_email, no_phone, no_birth = rng.random((3, idx.size)) < np.array([[0.05], [0.03], [0.08]])
    english = rng.integers(len(vocab.ENGLISH_GIVEN), size=idx.size)
    out = []
    for j, i in enumerate(idx.tolist()):
        s_char, s_latin, _ = surnames[sur[j]]
        g_chars = "".join(vocab.GIVEN_CHARS[g] for g in given[j, : given_len[j]])
        g_latin = _reading(g_chars)
        if kind[j] < 0.8:
            name = s_char + g_chars
            latin = f"{s_latin} {g_latin}"
        elif kind[j] < 0.92:
            name = latin = f"{s_latin} {g_latin}" if kind[j] < 0.86 else f"{g_latin} {s_latin}"
        else:
            g_latin = vocab.ENGLISH_GIVEN[english[j]]
            name = latin = f"{g_latin} {s_latin}"
        local = [f"{s_latin}{g_latin}", f"{g_latin}.{s_latin}", f"{s_latin[0]}{g_latin}"][
            email_style[j]
        ].lower()
        email = None if no_email[j] else f"{local}{people.email_no[i]}@{vocab.EMAIL_DOMAINS[domain[j]]}"
        digits = f"{vocab.MOBILE_PREFIXES[prefix[j]]}{people.phone_no[i]:08d}"
        phone = None if no_phone[j] else _phone_text(digits, int(phone_style[j]))
        out.append(
            _Identity(
                name,
                latin,
                email,
                phone,
                int(phone_style[j]),
                None if no_birth[j] else birth[j],
                vocab.CITIES[city[j]][0],
            )
        )
    return out


# ----------------------------------------------------------------------------------------------
# the generator


class _Generator:
    def __init__(self, customers: int, seed: int, data_dir: Path, truth_dir: Path, work: Path) -> None:
        self.customers = customers
        self.seed = seed
        self.data = data_dir
        self.truth = truth_dir
        self.work = work
        self.rng = np.random.default_rng(seed)
        self.people = _draw_people(self.rng, customers)
        self.n_dirty = 3 + customers // 10_000
        self._products()

    # products ---------------------------------------------------------------------------------
    def _products(self) -> None:
        rows = []
        for c, category in enumerate(vocab.CATEGORIES):
            for base_zh, base_en, price in vocab.PRODUCTS[category]:
                for v_zh, v_en, factor in vocab.VARIANTS[category]:
                    rows.append(
                        (c, f"{base_zh} {v_zh}", f"{base_en}, {v_en}", round(price * factor, 0) - 0.1)
                    )
        self.product_cat = np.array([r[0] for r in rows], dtype=np.int8)
        self.product_price = np.array([r[3] for r in rows])
        self.product_zh = [r[1] for r in rows]
        self.product_en = [r[2] for r in rows]
        # popularity within each category: Zipf-like, in a seeded order
        self.cat_members = [np.flatnonzero(self.product_cat == c) for c in range(len(vocab.CATEGORIES))]
        self.cat_cdf = []
        for members in self.cat_members:
            w = 1.0 / np.arange(1, members.size + 1) ** 0.9
            self.rng.shuffle(w)
            self.cat_cdf.append(np.cumsum(w) / w.sum())
        with (self.data / "products.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["product_id", "name", "category", "price", "description"])
            for p, (c, zh, en, price) in enumerate(rows):
                desc = f"{zh}，{vocab.CATEGORIES[c]}类精选好物。{en} from Lotus & Pine."
                writer.writerow([_product_id(p), zh, vocab.CATEGORIES[c], f"{price:.2f}", desc])

    def _pick_products(self, rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
        product = np.empty(category.size, dtype=np.int16)
        u = rng.random(category.size)
        for c, members in enumerate(self.cat_members):
            mask = category == c
            product[mask] = members[np.searchsorted(self.cat_cdf[c], u[mask]).clip(0, members.size - 1)]
        return product

    # the run ----------------------------------------------------------------------------------
    def run(self, postgres_url: str | None) -> None:
        people = self.people
        crm_db = self.data / "crm.sqlite"
        crm_db.unlink(missing_ok=True)
        sqlite = sqlite3.connect(crm_db)
        sqlite.execute(
            "CREATE TABLE customers (customer_key TEXT PRIMARY KEY, name TEXT, email TEXT, phone TEXT, "
            "birth_date TEXT, gender TEXT, city TEXT, address TEXT, signup_at TEXT, consent_marketing INTEGER, "
            "consent_profiling INTEGER, updated_at TEXT)"
        )
        members = (self.data / "shop_members.csv").open("w", encoding="utf-8", newline="")
        member_writer = csv.writer(members)
        member_writer.writerow(
            ["member_id", "full_name", "e_mail", "mobile", "birthday", "city", "registered_at"]
        )
        pairs = (self.truth / "identity_pairs.csv").open("w", encoding="utf-8", newline="")
        pair_writer = csv.writer(pairs)
        pair_writer.writerow(["source_a", "key_a", "source_b", "key_b", "variations"])
        self.member_rows = 0
        self.dirty_members: list[tuple[int, str]] = []
        lines = pq.ParquetWriter(self.work / "lines.parquet", _LINE_SCHEMA)
        events = pq.ParquetWriter(self.work / "events.parquet", _EVENT_SCHEMA)
        self.next_order = 0
        self.next_session = 0
        try:
            for lo in range(0, people.size, _CHUNK):
                idx = np.arange(lo, min(lo + _CHUNK, people.size))
                rng = np.random.default_rng([self.seed, lo])
                self._customers(rng, idx, sqlite, member_writer, pair_writer)
                lines.write_table(self._orders(rng, idx, first=lo == 0))
                events.write_table(self._events(rng, idx))
            sqlite.commit()
        finally:
            sqlite.close()
            members.close()
            pairs.close()
            lines.close()
            events.close()
        if postgres_url:
            _copy_to_postgres(crm_db, postgres_url)
        con = duckdb.connect(str(self.work / "work.duckdb"))
        try:
            con.execute("SET threads = 2")
            con.execute("SET enable_progress_bar = false")
            con.execute("SET memory_limit = '1GB'")
            con.execute("SET preserve_insertion_order = true")
            self._finish(con)
        finally:
            con.close()

    # customers and members --------------------------------------------------------------------
    def _customers(
        self,
        rng: np.random.Generator,
        idx: np.ndarray,
        sqlite: sqlite3.Connection,
        member_writer: csv.writer,
        pair_writer: csv.writer,
    ) -> None:
        people = self.people
        ids = _identities(rng, people, idx)
        signup = _fmt_times(people.signup[idx])
        touched = people.signup[idx] + rng.random(idx.size) * (_seconds(END) - people.signup[idx])
        updated = _fmt_times(touched.astype(np.int64))
        gender = rng.choice(
            np.array(["F", "M", "女", "男", ""], dtype=object), size=idx.size, p=[0.4, 0.35, 0.1, 0.1, 0.05]
        )
        profiling = rng.random(idx.size) < 0.8
        district = rng.integers(4, size=idx.size)
        street = rng.integers(len(vocab.STREETS), size=idx.size)
        number = rng.integers(1, 999, size=idx.size)
        city_districts = {c: d for c, d, _ in vocab.CITIES}
        rows = []
        for j, i in enumerate(idx.tolist()):
            if i >= people.n_crm:
                continue
            ident = ids[j]
            districts = city_districts[ident.city]
            address = f"{ident.city}市{districts[district[j] % len(districts)]}{vocab.STREETS[street[j]]}{number[j]}号"
            rows.append(
                (
                    _crm_key(i),
                    ident.name,
                    ident.email,
                    ident.phone,
                    ident.birth,
                    gender[j] or None,
                    ident.city,
                    address,
                    signup[j],
                    int(people.consent_marketing[i]),
                    int(profiling[j]),
                    updated[j],
                )
            )
        sqlite.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

        # web-shop members: the same people with variations, and people the CRM does not know
        member_rows = []
        registered = people.signup[idx] + rng.uniform(0, 200, idx.size) * DAY
        registered = _fmt_times(np.minimum(registered, _seconds(END) - DAY).astype(np.int64))
        draws = rng.random((idx.size, 7))
        for j, i in enumerate(idx.tolist()):
            if not people.has_member[i]:
                continue
            ident = ids[j]
            key = f"M-{people.member_no[i]}"
            name, email, phone, birth, city = ident.name, ident.email, ident.phone, ident.birth, ident.city
            variations = []
            if i < people.n_crm:
                d = draws[j]
                if not name.isascii() and d[0] < 0.5:
                    name = ident.latin
                    variations.append("pinyin_name")
                if d[1] < 0.25:
                    name = _typo(rng, name)
                    variations.append("name_typo")
                if email and d[2] < 0.25:
                    local, _, domain = email.partition("@")
                    other = [x for x in vocab.EMAIL_DOMAINS if x != domain]
                    email = f"{local}@{other[int(d[3] * len(other))]}"
                    variations.append("email_changed")
                elif email and d[2] < 0.55:
                    local, _, domain = email.partition("@")
                    email = f"{local.capitalize()}@{domain.upper()}"
                    variations.append("email_case")
                if phone and d[4] < 0.8:
                    digits = "".join(ch for ch in phone if ch.isdigit())[-11:]
                    phone = _phone_text(digits, (ident.phone_style + 1 + int(d[5] * 3)) % 4)
                    variations.append("phone_format")
                if birth and d[6] < 0.3:
                    birth = None
                    variations.append("birth_date_missing")
                pair_writer.writerow(["crm", _crm_key(i), "shop_members", key, "|".join(variations)])
            elif len(self.dirty_members) < self.n_dirty:
                birth = ["1990-02-30", "2001-13-01", "31.02.1988", "19xx-05-01"][len(self.dirty_members) % 4]
                self.dirty_members.append((0, key))
            member_rows.append([key, name, email or "", phone or "", birth or "", city, registered[j]])
        order = rng.permutation(len(member_rows))
        bad = {k for _, k in self.dirty_members}
        for r in order.tolist():
            self.member_rows += 1
            row = member_rows[r]
            if row[0] in bad:
                self.dirty_members = [
                    (self.member_rows, k) if k == row[0] else (n, k) for n, k in self.dirty_members
                ]
            member_writer.writerow(row)

    # orders -----------------------------------------------------------------------------------
    def _orders(self, rng: np.random.Generator, idx: np.ndarray, first: bool) -> pa.Table:
        people = self.people
        who, ts = _renewal_times(
            rng,
            people,
            idx,
            people.rate[idx],
            people.active_from[idx],
            people.active_to[idx],
            _GAP_SHAPE[people.segment[idx]],
        )
        n_orders = who.size
        seg = people.segment[who]
        channel = (rng.random(n_orders)[:, None] > _CHANNEL_P.cumsum()).sum(axis=1).clip(0, 3).astype(np.int8)
        shop_only = who >= people.n_crm
        channel[shop_only] = 0
        # bursts: one customer, many small orders within ten minutes (an anomaly), while they are active
        b_from = np.maximum(people.active_from[idx], 30 * DAY)
        b_to = np.minimum(people.active_to[idx] - DAY, _seconds(_LABEL_FROM) - 30 * DAY)
        crm = idx[(idx < people.n_crm) & (b_to > b_from)]
        n_bursts = max(1, round(0.00125 * n_orders * 1.4 / 9)) if crm.size else 0
        burst_who = rng.choice(crm, size=n_bursts) if crm.size else crm
        burst_size = rng.integers(6, 13, size=n_bursts)
        b_who = np.repeat(burst_who, burst_size)
        lo, hi = b_from[burst_who - idx[0]], b_to[burst_who - idx[0]]
        b_start = lo + rng.random(n_bursts) * (hi - lo)
        b_ts = (np.repeat(b_start, burst_size) + rng.uniform(0, 600, b_who.size)).astype(np.int64)
        who = np.concatenate([who, b_who])
        ts = np.concatenate([ts, b_ts])
        seg = people.segment[who]
        channel = np.concatenate([channel, np.ones(b_who.size, dtype=np.int8)])
        burst = np.concatenate([np.zeros(n_orders, bool), np.ones(b_who.size, bool)])
        n_orders = who.size
        oseq = self.next_order + np.arange(n_orders, dtype=np.int64)
        self.next_order += n_orders
        n_lines = 1 + np.where(burst, 0, rng.poisson(_EXTRA_LINES[seg]))
        # lines
        li = np.repeat(np.arange(n_orders), n_lines)
        line_no = (np.arange(li.size) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1).astype(np.int16)
        l_who = who[li]
        l_seg = seg[li]
        mix = _CAT_MIX.cumsum(axis=1)[l_seg]
        category = (rng.random(li.size)[:, None] > mix).sum(axis=1).clip(0, 5).astype(np.int8)
        fav = rng.random(li.size) < _FAVOURITE_P
        category[fav] = people.favourite[l_who[fav]]
        l_burst = burst[li]
        category[l_burst] = vocab.CATEGORIES.index("electronics")
        product = self._pick_products(rng, category)
        qty = (1 + rng.poisson(_EXTRA_QTY[l_seg])).astype(np.int32)
        qty[l_burst] = 1
        price = self.product_price[product].copy()
        discounted = (rng.random(li.size) < _DISCOUNT_P[l_seg]) & ~l_burst
        discount = np.where(discounted, np.round(price * qty * rng.uniform(0.1, 0.35, li.size), 2), 0.0)
        anomaly = np.zeros(li.size, dtype=np.int8)
        anomaly[l_burst] = 4
        u = rng.random(li.size)
        single = (u < 0.00375) & ~l_burst
        anomaly[single] = 1 + (rng.random(single.sum()) * 3).astype(np.int8)
        qty[anomaly == 1] = rng.integers(80, 600, (anomaly == 1).sum())
        cheap = anomaly == 2
        price[cheap] = np.round(price[cheap] * rng.uniform(0.02, 0.08, cheap.sum()), 2)
        discount[anomaly > 0] = 0.0
        amount = np.round(price * qty - discount, 2)
        wrong = anomaly == 3
        amount[wrong] = np.round(amount[wrong] * rng.uniform(8, 25, wrong.sum()), 2)
        fmt_ts = (rng.random(li.size)[:, None] > np.array([0.85, 0.95])).sum(axis=1).astype(np.int8)
        fmt_ts[l_burst] = 0
        fmt_ts = fmt_ts[np.repeat(np.cumsum(n_lines) - n_lines, n_lines)]  # one format per order
        fmt_amt = (rng.random(li.size) < 0.3).astype(np.int8)
        l_channel = channel[li]
        use_member = people.has_member[l_who] & ((l_channel == 0) | (l_who >= people.n_crm))
        table = {
            "person": l_who.astype(np.int32),
            "member": use_member,
            "oseq": oseq[li],
            "line": line_no,
            "ts": ts[li],
            "product": product,
            "category": category,
            "qty": qty,
            "price": price,
            "discount": discount,
            "amount": amount,
            "channel": l_channel,
            "anomaly": anomaly,
            "dirty": np.zeros(li.size, dtype=np.int8),
            "fmt_ts": fmt_ts,
            "fmt_amt": fmt_amt,
            "u_review": rng.random(li.size).astype(np.float32),
            "u_ticket": rng.random(li.size).astype(np.float32),
        }
        if first:
            table = self._plant_dirty(rng, table, idx)
        return pa.table(table, schema=_LINE_SCHEMA)

    def _plant_dirty(self, rng: np.random.Generator, table: dict[str, np.ndarray], idx: np.ndarray) -> dict:
        """Rows the loader must quarantine: bad dates, negative quantities, unknown products, ragged lines
        (each a one-line order of its own) and exact copies of normal lines."""
        n = self.n_dirty
        k = 4 * n
        crm = idx[idx < self.people.n_crm]
        extra = {name: np.zeros(k, dtype=col.dtype) for name, col in table.items()}
        extra["person"] = rng.choice(crm, size=k).astype(np.int32)
        extra["oseq"] = self.next_order + np.arange(k)
        self.next_order += k
        extra["line"][:] = 1
        extra["ts"] = (rng.uniform(10, _seconds(_LABEL_FROM) / DAY - 40, k) * DAY).astype(np.int64)
        category = rng.integers(len(vocab.CATEGORIES), size=k).astype(np.int8)
        extra["category"] = category
        extra["product"] = self._pick_products(rng, category)
        extra["qty"][:] = 1
        extra["price"] = self.product_price[extra["product"]]
        extra["dirty"] = np.repeat(np.arange(1, 5, dtype=np.int8), n)
        extra["qty"][extra["dirty"] == 2] = -rng.integers(1, 4, n)
        extra["amount"] = np.round(extra["price"] * extra["qty"], 2)
        extra["channel"] = rng.integers(1, 4, k).astype(np.int8)
        extra["u_review"][:] = 1.0
        extra["u_ticket"][:] = 1.0
        normal = np.flatnonzero((table["anomaly"] == 0) & (table["fmt_ts"] == 0))
        copies = rng.choice(normal, size=n, replace=False)
        dup = {name: col[copies].copy() for name, col in table.items()}
        dup["dirty"][:] = 5
        dup["u_review"][:] = 1.0
        dup["u_ticket"][:] = 1.0
        return {name: np.concatenate([table[name], extra[name], dup[name]]) for name in table}

    # events -----------------------------------------------------------------------------------
    def _events(self, rng: np.random.Generator, idx: np.ndarray) -> pa.Table:
        people = self.people
        lo = np.maximum(people.active_from[idx], _seconds(_EVENTS_FROM))
        who, start = _poisson_times(
            rng, people, idx, 0.6 * people.rate[idx] + 0.01, lo, people.active_to[idx]
        )
        n_ev = 1 + rng.poisson(1.5, who.size)
        si = np.repeat(np.arange(who.size), n_ev)
        pos = np.arange(si.size) - np.repeat(np.cumsum(n_ev) - n_ev, n_ev)
        gaps = rng.integers(5, 300, si.size)
        gaps[pos == 0] = 0
        offset = np.cumsum(gaps) - np.repeat((np.cumsum(gaps) - gaps)[np.cumsum(n_ev) - n_ev], n_ev)
        ts = start[si] + offset
        e_who = who[si]
        kind = (rng.random(si.size)[:, None] > np.array([0.62, 0.85, 0.93])).sum(axis=1).astype(np.int8)
        kind[(pos == 0) & (kind == 2)] = 0  # sessions start with a view or a search
        category = np.where(
            rng.random(si.size) < 0.6,
            people.favourite[e_who],
            rng.integers(len(vocab.CATEGORIES), size=si.size),
        ).astype(np.int8)
        product = self._pick_products(rng, category).astype(np.int16)
        product[kind == 3] = -1  # a search has no product
        session = self.next_session + si
        self.next_session += who.size
        keep = ts < _seconds(END)
        return pa.table(
            {
                "person": e_who[keep].astype(np.int32),
                "ts": ts[keep],
                "kind": kind[keep],
                "product": product[keep],
                "session": session[keep],
            },
            schema=_EVENT_SCHEMA,
        )

    # the files DuckDB writes ------------------------------------------------------------------
    def _finish(self, con: duckdb.DuckDBPyConnection) -> None:
        people = self.people
        n = people.size
        keys = pa.table(
            {
                "person": np.arange(n, dtype=np.int32),
                "crm_key": pa.array(
                    [_crm_key(i) if i < people.n_crm else None for i in range(n)], pa.string()
                ),
                "member_key": pa.array(
                    [
                        f"M-{m}" if h else None
                        for m, h in zip(people.member_no.tolist(), people.has_member.tolist(), strict=True)
                    ],
                    pa.string(),
                ),
                "segment": people.segment,
            }
        )
        con.register("keys_arrow", keys)
        con.execute("CREATE TABLE persons AS SELECT * FROM keys_arrow")
        con.unregister("keys_arrow")
        lines = str(self.work / "lines.parquet")
        # Sorting is out of core; row and order numbers come from row ids of sorted tables, not windows.
        con.execute(
            f"""CREATE TABLE order_numbers AS SELECT oseq FROM read_parquet('{lines}')
            WHERE line = 1 AND dirty < 5 ORDER BY ts, oseq"""
        )
        con.execute(
            f"""CREATE TABLE final_sorted AS
            SELECT l.*, o.ono, CASE WHEN l.member THEN k.member_key ELSE k.crm_key END AS ckey
            FROM read_parquet('{lines}') l
            JOIN (SELECT oseq, rowid + 1 AS ono FROM order_numbers) o USING (oseq)
            JOIN persons k USING (person)
            ORDER BY l.ts, l.oseq, l.line, l.dirty"""
        )
        con.execute("DROP TABLE order_numbers")
        con.execute("CREATE VIEW final AS SELECT *, rowid + 1 AS rn FROM final_sorted")
        self._write_orders(con)
        self._write_events(con)
        self._write_truth(con)
        self._write_reviews(con)
        self._write_tickets(con)

    def _write_orders(self, con: duckdb.DuckDBPyConnection) -> None:
        channels = "[" + ", ".join(f"'{c}'" for c in _CHANNELS) + "]"
        t = "(TIMESTAMP '2024-07-01 00:00:00' + to_seconds(f.ts))"
        ts_text = f"""CASE WHEN f.dirty = 1 THEN (['2024-13-45', 'yesterday', '2025-02-30 10:00:00'])[1 + f.rn % 3]
            WHEN f.fmt_ts = 0 THEN strftime({t}, '%Y-%m-%d %H:%M:%S')
            WHEN f.fmt_ts = 1 THEN strftime({t}, '%Y/%m/%d %H:%M')
            ELSE year({t}) || '年' || month({t}) || '月' || day({t}) || '日' END"""
        product = "CASE WHEN f.dirty = 3 THEN 'P9' || (100 + f.rn % 900)::VARCHAR ELSE 'P' || lpad((f.product + 1)::VARCHAR, 4, '0') END"
        fields = [
            "'SO' || lpad(f.ono::VARCHAR, 9, '0')",
            "f.line::VARCHAR",
            "f.ckey",
            ts_text,
            product,
            "f.qty::VARCHAR",
            "printf('%.2f', f.price)",
            "printf('%.2f', f.discount)",
            "CASE WHEN f.fmt_amt = 1 THEN '¥' ELSE '' END || printf('%.2f', f.amount)",
            f"{channels}[f.channel + 1]",
            "'CNY'",
        ]
        line = f"CASE WHEN f.dirty = 4 THEN concat_ws(',', {', '.join(fields[:7])}) ELSE concat_ws(',', {', '.join(fields)}) END"
        query = con.execute(f"SELECT {line} AS line FROM final f")  # insertion order: the sorted order
        with (self.data / "orders_export.csv").open("wb") as handle:
            handle.write((",".join(_ORDER_HEADER) + "\n").encode("gb18030"))
            for batch in _batches(query):
                handle.write(("\n".join(batch.column(0).to_pylist()) + "\n").encode("gb18030"))

    def _write_events(self, con: duckdb.DuckDBPyConnection) -> None:
        events = str(self.work / "events.parquet")
        target = str(self.data / "web_events.ndjson").replace("'", "''")
        con.execute(
            f"""COPY (
                SELECT coalesce(k.member_key, k.crm_key) AS customer_key,
                       strftime(TIMESTAMP '2024-07-01 00:00:00' + to_seconds(e.ts), '%Y-%m-%dT%H:%M:%S+08:00') AS ts,
                       (['view', 'cart', 'purchase', 'search'])[e.kind + 1] AS event_type,
                       CASE WHEN e.product >= 0 THEN 'P' || lpad((e.product + 1)::VARCHAR, 4, '0') END AS product_id,
                       'S' || lpad(e.session::VARCHAR, 10, '0') AS session_id
                FROM read_parquet('{events}') e JOIN persons k USING (person)
                ORDER BY e.ts, e.session
            ) TO '{target}' (FORMAT json)"""
        )

    def _write_truth(self, con: duckdb.DuckDBPyConnection) -> None:
        people = self.people
        truth = self.truth
        # churn label from the generated orders: no (loaded) order in the 90 days after the cutoff
        lo, hi = _seconds(_LABEL_FROM), _seconds(_LABEL_TO)
        counts = con.execute(
            f"""SELECT person, count(*) FILTER (WHERE ts >= {lo} AND ts < {hi}) AS after,
                       count(*) FILTER (WHERE ts < {lo}) AS before
                FROM final WHERE dirty = 0 GROUP BY person"""
        ).fetchnumpy()
        after = np.zeros(people.size, dtype=np.int64)
        before = np.zeros(people.size, dtype=np.int64)
        after[counts["person"]] = counts["after"]
        before[counts["person"]] = counts["before"]
        uplift = self._campaign()
        churn_day = (START + people.active_to.astype("timedelta64[s]")).astype("datetime64[D]").astype(str)
        with (truth / "customers.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                [
                    "source",
                    "customer_key",
                    "true_segment",
                    "orders_before_cutoff",
                    "will_churn",
                    "churn_date",
                    "true_uplift",
                ]
            )
            for i in range(people.size):
                crm = i < people.n_crm
                writer.writerow(
                    [
                        "crm" if crm else "shop_members",
                        _crm_key(i) if crm else f"M-{people.member_no[i]}",
                        SEGMENTS[people.segment[i]],
                        int(before[i]),
                        int(after[i] == 0),
                        churn_day[i] if people.churner[i] else "",
                        f"{uplift[i]:.4f}" if crm else "",
                    ]
                )
        con.execute(
            f"""COPY (SELECT 'SO' || lpad(ono::VARCHAR, 9, '0') AS order_id, line AS line_no,
                       ({_sql_list(_ANOMALY_KINDS)})[anomaly + 1] AS kind
                FROM final WHERE anomaly > 0 AND dirty = 0 ORDER BY rn) TO '{_sql_path(truth / "anomalies.csv")}'
               (HEADER true)"""
        )
        dirty = con.execute(
            f"SELECT rn, ({_sql_list(_DIRTY_KINDS)})[dirty + 1] FROM final WHERE dirty > 0 ORDER BY rn"
        ).fetchall()
        with (truth / "dirty_rows.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "row_number", "kind", "expected_reason", "duplicate_of"])
            for rn, kind in dirty:
                writer.writerow(
                    [
                        "data/orders_export.csv",
                        rn,
                        kind,
                        _DIRTY_REASON[kind],
                        rn - 1 if kind == "exact_duplicate" else "",
                    ]
                )
            for rn, _ in sorted(self.dirty_members):
                writer.writerow(
                    ["data/shop_members.csv", rn, "bad_birthday", _DIRTY_REASON["bad_birthday"], ""]
                )
        (truth / "README.md").write_text(_TRUTH_README, encoding="utf-8")

    def _campaign(self) -> np.ndarray:
        """The spring campaign: randomised 75/25, an effect that differs by segment. Returns true uplift."""
        people = self.people
        rng = np.random.default_rng([self.seed, 7])
        n = people.n_crm
        seg = people.segment[:n]
        p0 = np.clip(_CAMPAIGN_P0[seg] * rng.lognormal(0, 0.2, n), 0, 0.9)
        p1 = np.clip(p0 + _CAMPAIGN_TAU[seg] + rng.normal(0, 0.01, n), 0, 1)
        uplift = np.concatenate([p1 - p0, np.zeros(people.size - n)])
        at = _seconds(_CAMPAIGN_AT)
        eligible = (
            people.consent_marketing[:n] & (people.signup[:n] < at) & (people.active_to[:n] > at - 120 * DAY)
        )
        treatment = rng.random(n) < 0.75
        responded = rng.random(n) < np.where(treatment, p1, p0)
        revenue = np.where(responded, np.round(rng.lognormal(np.log(_CAMPAIGN_AOV[seg]), 0.4), 2), 0.0)
        sent = _fmt_times(at + rng.integers(0, 3 * 3600, n))
        with (self.data / "campaign_contacts.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["campaign_id", "customer_key", "sent_at", "treatment", "responded", "revenue"])
            for i in np.flatnonzero(eligible).tolist():
                writer.writerow(
                    [
                        CAMPAIGN_ID,
                        _crm_key(i),
                        sent[i],
                        int(treatment[i]),
                        int(responded[i]),
                        f"{revenue[i]:.2f}",
                    ]
                )
        return uplift

    def _write_reviews(self, con: duckdb.DuckDBPyConnection) -> None:
        people = self.people
        spike_cat = vocab.CATEGORIES.index(SPIKE_CATEGORY)
        s_lo, s_hi = _seconds(_SPIKE_FROM), _seconds(_SPIKE_TO)
        rows = con.execute(
            f"""SELECT f.person, f.ckey AS customer_key, f.ts,
                       f.product, f.channel,
                       (f.category = {spike_cat} AND f.ts >= {s_lo - 3 * DAY} AND f.ts < {s_hi - 7 * DAY}
                        AND f.u_review >= {_REVIEW_P} AND f.u_review < 0.35) AS spike
                FROM final f
                WHERE f.dirty = 0 AND (f.u_review < {_REVIEW_P} OR (f.category = {spike_cat}
                      AND f.ts >= {s_lo - 3 * DAY} AND f.ts < {s_hi - 7 * DAY} AND f.u_review < 0.35))
                ORDER BY f.rn"""
        ).fetchnumpy()
        rng = np.random.default_rng([self.seed, 11])
        m = rows["person"].size
        spike = rows["spike"].astype(bool)
        delay = np.where(spike, rng.uniform(3, 7, m), rng.uniform(1, 10, m)) * DAY
        ts = (rows["ts"] + delay).astype(np.int64)
        churner = people.churner[rows["person"]]
        probs = np.where(churner[:, None], [0.12, 0.14, 0.20, 0.30, 0.24], [0.04, 0.06, 0.12, 0.33, 0.45])
        rating = 1 + (rng.random(m)[:, None] > probs.cumsum(axis=1)[:, :4]).sum(axis=1)
        rating[spike] = rng.integers(1, 3, spike.sum())
        aspect = rng.integers(len(vocab.ASPECTS), size=m)
        aspect[spike] = 0
        second = rng.integers(len(vocab.ASPECTS), size=m)
        has_second = rng.random(m) < 0.5
        zh = rng.random(m) < 0.7
        pick = rng.integers(3, size=(m, 2))
        channel = rng.choice(np.array(["web", "app", "wechat"]), size=m)
        keep = ts < _seconds(END)
        times = _fmt_times(ts)
        n_spike = 0
        with (self.data / "reviews.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["feedback_id", "customer_key", "ts", "channel", "product_id", "text", "rating"])
            for j in np.flatnonzero(keep).tolist():
                lang = "zh" if zh[j] else "en"
                polarity = "pos" if rating[j] >= 4 else "neu" if rating[j] == 3 else "neg"
                product = int(rows["product"][j])
                item = (
                    self.product_zh[product].split(" ")[0]
                    if zh[j]
                    else self.product_en[product].split(",")[0]
                )
                text = vocab.REVIEW_TEMPLATES[(vocab.ASPECTS[aspect[j]], polarity, lang)][pick[j, 0]]
                if has_second[j] and second[j] != aspect[j]:
                    more = vocab.REVIEW_TEMPLATES[(vocab.ASPECTS[second[j]], polarity, lang)][pick[j, 1]]
                    text = text + ("" if zh[j] else " ") + more
                n_spike += int(spike[j])
                writer.writerow(
                    [
                        f"R{j + 1:08d}",
                        rows["customer_key"][j],
                        times[j],
                        channel[j],
                        _product_id(product),
                        text.format(item=item),
                        int(rating[j]),
                    ]
                )
        spike_info = {
            "category": SPIKE_CATEGORY,
            "aspect": "delivery",
            "polarity": "negative",
            "start": str(_SPIKE_FROM.astype("datetime64[D]")),
            "end": str(_SPIKE_TO.astype("datetime64[D]")),
            "end_exclusive": True,
            "planted_reviews": n_spike,
            "ratings": [1, 2],
            "note": "extra 1-2 star reviews about slow delivery of kitchenware orders, dated inside the window "
            "(local time, Asia/Shanghai); outside it, reviews follow the normal rating mix",
        }
        (self.truth / "negative_spike.json").write_text(
            json.dumps(spike_info, indent=2) + "\n", encoding="utf-8"
        )

    def _write_tickets(self, con: duckdb.DuckDBPyConnection) -> None:
        spike_cat = vocab.CATEGORIES.index(SPIKE_CATEGORY)
        s_lo, s_hi = _seconds(_SPIKE_FROM), _seconds(_SPIKE_TO)
        in_spike = f"(f.category = {spike_cat} AND f.ts >= {s_lo - 3 * DAY} AND f.ts < {s_hi - 7 * DAY})"
        rows = con.execute(
            f"""SELECT f.ckey AS customer_key, f.ts, f.product,
                       'SO' || lpad(f.ono::VARCHAR, 9, '0') AS order_id, {in_spike} AND f.u_ticket >= {_TICKET_P} AS spike
                FROM final f
                WHERE f.dirty = 0 AND (f.u_ticket < {_TICKET_P} OR ({in_spike} AND f.u_ticket < 0.1))
                ORDER BY f.rn"""
        ).fetchnumpy()
        rng = np.random.default_rng([self.seed, 13])
        m = rows["ts"].size
        intent = rng.choice(len(vocab.INTENTS), size=m, p=[0.28, 0.2, 0.2, 0.1, 0.07, 0.15])
        intent[rows["spike"].astype(bool)] = 0
        ts = (rows["ts"] + rng.uniform(0.5, 6, m) * DAY).astype(np.int64)
        zh = rng.random(m) < 0.65
        urgent = rng.random(m) < np.where(np.isin(intent, [0, 1, 2]), 0.12, 0.04)
        priority = rng.choice(np.array(["high", "normal", "low"]), size=m, p=[0.2, 0.6, 0.2])
        status = rng.choice(np.array(["closed", "open", "pending"]), size=m, p=[0.8, 0.1, 0.1])
        resolve_hours = rng.exponential(24, m) + 0.5
        resolved = (ts + resolve_hours * 3600).astype(np.int64)
        channel = rng.choice(np.array(["email", "phone", "chat", "wechat"]), size=m)
        pick = rng.integers(3, size=(m, 2))
        created, resolved_text = _fmt_times(ts), _fmt_times(resolved)
        keep = np.flatnonzero(ts < _seconds(END)).tolist()
        with (self.data / "tickets.json").open("w", encoding="utf-8") as handle:
            handle.write("[\n")
            for n, j in enumerate(keep):
                lang = "zh" if zh[j] else "en"
                product = int(rows["product"][j])
                item = (
                    self.product_zh[product].split(" ")[0]
                    if zh[j]
                    else self.product_en[product].split(",")[0]
                )
                subject, body = vocab.TICKET_TEMPLATES[(vocab.INTENTS[intent[j]], lang)][pick[j, 0]]
                body = body.format(order=rows["order_id"][j], item=item)
                if urgent[j]:
                    body += ("" if zh[j] else " ") + vocab.URGENT_SUFFIX[lang][pick[j, 1]]
                done = status[j] == "closed" and resolved[j] < _seconds(END)  # else still open at the export
                record = {
                    "ticket_id": f"T{n + 1:07d}",
                    "customer_key": rows["customer_key"][j],
                    "created": created[j],
                    "channel": channel[j],
                    "subject": subject,
                    "body": body,
                    "category": vocab.INTENTS[intent[j]],
                    "priority": "urgent" if urgent[j] else priority[j],
                    "status": "closed" if done else "open" if status[j] == "closed" else status[j],
                    "resolved_at": resolved_text[j] if done else None,
                }
                handle.write(("" if n == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
            handle.write("\n]\n")


_LINE_SCHEMA = pa.schema(
    [
        ("person", pa.int32()),
        ("member", pa.bool_()),
        ("oseq", pa.int64()),
        ("line", pa.int16()),
        ("ts", pa.int64()),
        ("product", pa.int16()),
        ("category", pa.int8()),
        ("qty", pa.int32()),
        ("price", pa.float64()),
        ("discount", pa.float64()),
        ("amount", pa.float64()),
        ("channel", pa.int8()),
        ("anomaly", pa.int8()),
        ("dirty", pa.int8()),
        ("fmt_ts", pa.int8()),
        ("fmt_amt", pa.int8()),
        ("u_review", pa.float32()),
        ("u_ticket", pa.float32()),
    ]
)
_EVENT_SCHEMA = pa.schema(
    [
        ("person", pa.int32()),
        ("ts", pa.int64()),
        ("kind", pa.int8()),
        ("product", pa.int16()),
        ("session", pa.int64()),
    ]
)


def _crm_key(i: int) -> str:
    return f"C{i + 1:06d}"


def _product_id(p: int) -> str:
    return f"P{p + 1:04d}"


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v + "'" for v in values) + "]"


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _batches(result: duckdb.DuckDBPyConnection, rows: int = 500_000) -> Iterator[pa.RecordBatch]:
    reader = result.fetch_record_batch(rows)
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return


def _copy_to_postgres(sqlite_path: Path, url: str) -> None:
    """Copy the CRM table into PostgreSQL (table ``customers``, replaced), through psycopg's COPY."""
    import psycopg

    columns = [
        "customer_key",
        "name",
        "email",
        "phone",
        "birth_date",
        "gender",
        "city",
        "address",
        "signup_at",
        "consent_marketing",
        "consent_profiling",
        "updated_at",
    ]
    types = [
        "TEXT PRIMARY KEY",
        "TEXT",
        "TEXT",
        "TEXT",
        "DATE",
        "TEXT",
        "TEXT",
        "TEXT",
        "TIMESTAMP",
        "BOOLEAN",
        "BOOLEAN",
        "TIMESTAMP",
    ]
    source = sqlite3.connect(sqlite_path)
    try:
        with psycopg.connect(url) as pg, pg.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS customers")
            cur.execute(
                "CREATE TABLE customers ("
                + ", ".join(f"{c} {t}" for c, t in zip(columns, types, strict=True))
                + ")"
            )
            with cur.copy(f"COPY customers ({', '.join(columns)}) FROM STDIN") as copy:
                for row in source.execute(
                    f"SELECT {', '.join(columns)} FROM customers ORDER BY customer_key"
                ):
                    row = list(row)
                    row[9], row[10] = bool(row[9]), bool(row[10])
                    copy.write_row(row)
    finally:
        source.close()


def _project_yaml(with_postgres: bool) -> str:
    postgres = (
        """
  # The same CRM table in PostgreSQL (written by `--postgres-url`); use it instead of the SQLite source:
  # - name: crm
  #   kind: postgres
  #   url_env: CRMLENS_DEMO_PG_URL        # export CRMLENS_DEMO_PG_URL=postgresql://user:pass@host:5432/db
  #   table: public.customers
  #   entity: customers
  #   incremental: {column: updated_at}
"""
        if with_postgres
        else ""
    )
    return f"""# Demo project of the fictional retailer "Lotus & Pine", written by crmlens' demo generator.
# The planted truth (segments, churners, duplicate identities, anomalies, uplift) is in truth/.
warehouse: crmlens.duckdb
default_region: CN
timezone: Asia/Shanghai

sources:
  - name: products
    kind: csv
    path: data/products.csv
    entity: products
    encoding: utf-8

  - name: crm                             # the CRM database (SQLite), loaded incrementally
    kind: sqlite
    path: data/crm.sqlite
    table: customers
    entity: customers
    incremental: {{column: updated_at}}
{postgres}
  - name: shop_members                    # the web shop's member list: same people, other keys
    kind: csv
    path: data/shop_members.csv
    entity: customers
    encoding: utf-8
    columns: {{member_id: customer_key, full_name: name, e_mail: email, mobile: phone, birthday: birth_date,
              registered_at: signup_at}}

  - name: orders                          # ERP export: GB18030, Chinese headers, mixed date formats
    kind: csv
    path: data/orders_export.csv
    entity: orders
    encoding: auto
    columns: {{订单号: order_id, 行号: line_no, 客户ID: customer_key, 下单时间: ts, 商品编号: product_id,
              数量: quantity, 单价: unit_price, 折扣: discount, 金额: amount, 渠道: channel, 币种: currency}}

  - name: web_events
    kind: ndjson
    path: data/web_events.ndjson
    entity: events

  - name: reviews
    kind: csv
    path: data/reviews.csv
    entity: feedback
    encoding: utf-8

  - name: tickets
    kind: json
    path: data/tickets.json
    entity: tickets
    columns: {{created: ts}}

  - name: campaigns
    kind: csv
    path: data/campaign_contacts.csv
    entity: campaign_contacts
    encoding: utf-8
    columns: {{sent_at: ts}}
"""


_TRUTH_README = """# Planted truth of the Lotus & Pine demo

All times are local (Asia/Shanghai). The order history runs from 2024-07-01 to 2026-06-30;
the web log keeps the last 12 months. The churn cutoff is 2026-03-31.

- `customers.csv`: one row per person. `source`/`customer_key` is the CRM key (`crm`, C000123) or,
  for web-shop members the CRM does not know, the member key (`shop_members`, M-55821).
  `true_segment` is one of champions, loyal_regulars, discount_hunters, new_customers, drifting:
  they differ in order frequency, spend, basket size, discount share, category mix, the rhythm of
  their orders (loyal regulars buy at steady intervals, the others at random moments), sign-up
  (new customers 10-120 days before the cutoff, everyone else a year or more before) and, for
  drifting, a falling trend. `orders_before_cutoff` counts loaded order lines before
  2026-04-01. `will_churn` is the label "no order in the 90 days after the cutoff"
  (2026-04-01 to 2026-06-29) computed from the generated orders, so it agrees with the data
  (a customer with no order before the cutoff has will_churn 1 too; filter on
  orders_before_cutoff > 0 for a churn model). `churn_date` is the planted last day of activity
  of planted churners, whose order and visit rates decay over the 150 days before it.
  `true_uplift` is the true effect of campaign CMP-2026-SPRING on the response probability of a
  CRM customer (p(respond | offer) - p(respond | no offer)): about +0.18 for discount hunters,
  +0.08 for new customers, +0.04 for loyal regulars, 0 for champions and -0.03 for drifting.
- `identity_pairs.csv`: every (CRM key, web-shop member key) that is the same person, with the
  variations planted in the member record: pinyin_name, name_typo, email_changed, email_case,
  phone_format, birth_date_missing. Orders of the web channel and web events of these people use
  the member key.
- `anomalies.csv`: order lines (order_id, line_no) that are anomalous on purpose: huge_quantity,
  price_below_list (2-8% of the list price), amount_mismatch (amount far above quantity x price),
  order_burst (6-12 one-line orders from one customer within ten minutes).
- `negative_spike.json`: the category, window and aspect of a planted burst of negative reviews
  (slow delivery of kitchenware); delivery-delay tickets rise in the same weeks.
- `dirty_rows.csv`: rows the loader must quarantine: file, 1-based data row (header excluded),
  kind, a phrase the quarantine reason contains, and for an exact duplicate the row it copies
  (the loader keeps one of the two and quarantines the other).
"""
