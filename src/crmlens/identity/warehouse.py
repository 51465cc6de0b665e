"""Warehouse mode: ``source_customers`` → ``customer_links`` + ``customers``, and ``customer_id`` everywhere.

Ids are stable: ``__identity_keymap`` remembers every (source, customer_key) → customer_id ever
given, so a later load links new records to existing customers and never renumbers them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmlens.engine.base import Engine
from crmlens.exceptions import ConfigError, ValidationError
from crmlens.identity.linkage import RecordLinker

__all__ = ["resolve_identities", "FACT_TABLES", "WAREHOUSE_ROLES", "DEFAULT_SURVIVORSHIP", "parse_key"]

FACT_TABLES = ("orders", "events", "feedback", "tickets", "campaign_contacts")
WAREHOUSE_ROLES = {
    "name": "name",
    "email": "email",
    "phone": "phone",
    "birth_date": "birth_date",
    "address": "address",
    "city": "city",
    "external_id": "id",
}
GOLDEN_COLUMNS = (
    "name", "email", "phone", "birth_date", "gender", "address", "city", "country",
    "signup_at", "consent_marketing", "consent_profiling",
)  # fmt: skip
# Survivorship: an ordered list of rules per column ("default" for the rest). Rules:
# source_priority (the order in ``source_priority``), most_recent (updated_at, then signup_at),
# most_complete (most filled golden columns), earliest (smallest value), latest (largest value).
DEFAULT_SURVIVORSHIP: dict[str, list[str]] = {
    "default": ["source_priority", "most_recent", "most_complete"],
    "signup_at": ["earliest"],
    "consent_marketing": ["most_recent"],
    "consent_profiling": ["most_recent"],
}
KEYMAP = "__identity_keymap"
PAIRS = "__identity_pairs"
MODEL = "__identity_model"


def parse_key(key: str | Sequence[str]) -> tuple[str | None, str]:
    """``"crm:C000001"`` or ``("crm", "C000001")`` → (source, key); a bare key has no source."""
    if isinstance(key, (tuple, list)):
        if len(key) != 2:
            raise ConfigError(f"identity: a record key is (source, customer_key), got {key!r}")
        return str(key[0]), str(key[1])
    text = str(key)
    if ":" in text:
        source, _, rest = text.partition(":")
        return source, rest
    return None, text


def _positions(
    records: pd.DataFrame,
    pairs: Iterable[Sequence[Any]] | None,
    what: str,
    pseudonym_key: bytes | str | None = None,
) -> list[tuple[int, int]]:
    if not pairs:
        return []
    by_full = {
        (s, k): i for i, (s, k) in enumerate(zip(records["source"], records["customer_key"], strict=True))
    }
    by_key: dict[str, int] = {}
    for (_, k), i in by_full.items():
        by_key.setdefault(k, i)
    out = []
    for pair in pairs:
        if len(pair) != 2:
            raise ConfigError(f"identity: each {what} entry is a pair of record keys, got {pair!r}")
        found = []
        for key in pair:
            source, k = parse_key(key)
            if pseudonym_key is not None and not k.startswith("pz_"):  # keys were tokenised at ingest
                from crmlens.privacy.pseudonymise import Tokenizer

                k = Tokenizer(pseudonym_key).token(k)
            pos = by_full.get((source, k)) if source is not None else by_key.get(k)
            if pos is not None:
                found.append(pos)
        if len(found) == 2:
            out.append((found[0], found[1]))
    return out


def _order_for(rule: str, frame: pd.DataFrame, priority: dict[str, int]) -> tuple[list[str], list[bool]]:
    if rule == "source_priority":
        return ["__prio"], [True]
    if rule == "most_recent":
        return ["__recent"], [False]
    if rule == "most_complete":
        return ["__filled"], [False]
    raise ConfigError(
        f"identity.survivorship: rule {rule!r} is not source_priority, most_recent, most_complete, earliest or latest"
    )


def golden_records(
    records: pd.DataFrame,
    survivorship: dict[str, list[str]] | None = None,
    source_priority: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per customer_id: each column from the record its survivorship rules rank first."""
    rules = {**DEFAULT_SURVIVORSHIP, **(survivorship or {})}
    sources = list(source_priority or sorted(records["source"].unique()))
    priority = {s: i for i, s in enumerate(sources)}
    frame = records.copy()
    frame["__prio"] = frame["source"].map(priority).fillna(len(priority)).astype(int)
    recent = pd.to_datetime(frame.get("updated_at"), errors="coerce")
    signup = pd.to_datetime(frame.get("signup_at"), errors="coerce")
    frame["__recent"] = recent.fillna(signup)
    frame["__filled"] = frame[[c for c in GOLDEN_COLUMNS if c in frame]].notna().sum(axis=1)
    out = pd.DataFrame(index=pd.Index(sorted(frame["customer_id"].unique()), name="customer_id"))
    groups: dict[tuple[str, ...], pd.core.groupby.DataFrameGroupBy] = {}
    for column in GOLDEN_COLUMNS:
        if column not in frame:
            out[column] = None
            continue
        chain = tuple(rules.get(column, rules["default"]))
        if chain in (("earliest",), ("latest",)):
            grouped = frame.groupby("customer_id")[column]
            out[column] = grouped.min() if chain == ("earliest",) else grouped.max()
            continue
        if chain not in groups:
            by, asc = ["customer_id"], [True]
            for rule in chain:
                cols, dirs = _order_for(rule, frame, priority)
                by += cols
                asc += dirs
            ordered = frame.sort_values(
                [*by, "source", "customer_key"],
                ascending=[*asc, True, True],
                na_position="last",
                kind="mergesort",
            )
            groups[chain] = ordered.groupby("customer_id", sort=True)
        out[column] = groups[chain][column].first()
    out["n_sources"] = frame.groupby("customer_id")["source"].nunique().astype("int32")
    return out.reset_index()


def _assign_ids(records: pd.DataFrame, clusters: np.ndarray, keymap: pd.DataFrame) -> np.ndarray:
    """Customer ids for clusters: a cluster keeps the smallest id any member had; new clusters get new ids."""
    known = {
        (s, k): int(i)
        for s, k, i in keymap[["source", "customer_key", "customer_id"]].itertuples(index=False)
    }
    orphans = keymap[keymap["kind"] == "orphan"]
    orphan_by_key: dict[str, int] = {}
    for k, i in zip(orphans["customer_key"], orphans["customer_id"], strict=True):
        orphan_by_key[k] = min(int(i), orphan_by_key.get(k, int(i)))
    next_id = int(keymap["customer_id"].max()) + 1 if len(keymap) else 1
    frame = pd.DataFrame({"cluster": clusters, "source": records["source"], "key": records["customer_key"]})
    frame["old"] = [
        known.get((s, k), orphan_by_key.get(k)) for s, k in zip(frame["source"], frame["key"], strict=True)
    ]
    claimed: set[int] = set()
    ids = np.empty(int(clusters.max()) + 1 if len(clusters) else 0, dtype=np.int64)
    # biggest clusters claim first, then by first member, so a split keeps the id on its larger part
    order = (
        frame.groupby("cluster")
        .agg(size=("key", "size"), first=("key", "min"))
        .sort_values(["size", "first"], ascending=[False, True])
    )
    olds = frame.dropna(subset=["old"]).groupby("cluster")["old"].apply(lambda s: sorted({int(v) for v in s}))
    for cluster in order.index:
        candidates = [i for i in olds.get(cluster, []) if i not in claimed]
        if candidates:
            ids[cluster] = candidates[0]
        else:
            ids[cluster] = next_id
            next_id += 1
        claimed.add(int(ids[cluster]))
    return ids[clusters]


def resolve_identities(
    engine: Engine,
    threshold: float = 0.9,
    must_link: Iterable[Sequence[Any]] | None = None,
    never_link: Iterable[Sequence[Any]] | None = None,
    seed: int = 0,
    *,
    survivorship: dict[str, list[str]] | None = None,
    source_priority: Sequence[str] | None = None,
    fact_tables: Sequence[str] = FACT_TABLES,
    retrain: bool = False,
    vault_key: str | bytes | None = None,
    pseudonym_key: str | bytes | None = None,
    match_tokens: bool = False,
    audit: Any = None,
    spark: Any = None,
) -> dict[str, Any]:
    """Resolve ``source_customers`` into customers; write ``customer_links``, ``customers``, fill facts.

    Parameters
    ----------
    engine : Engine
        The warehouse; it must hold ``source_customers``.
    threshold : float
        Splink match probability at or above which two records are one customer.
    must_link, never_link : list of pairs
        Record keys (``"source:customer_key"``, a bare key or a ``(source, key)`` pair) that must,
        or must never, end up as one customer.
    seed : int
        Seed of Splink's sampling.
    survivorship : dict
        Golden-record rules per column (see ``DEFAULT_SURVIVORSHIP``).
    source_priority : list of str
        Sources, most trusted first (default: alphabetical).
    retrain : bool
        Train the Splink model again even when the stored one fits (it is retrained anyway once
        the records have doubled since it was trained).
    vault_key : str or bytes
        When identifiers were pseudonymised at ingest: the key of ``pii_vault``. Identity is the one
        task declared to read clear values (:mod:`crmlens.privacy.minimise`); it decrypts them in
        memory to compare names and addresses fuzzily, and writes only keys, ids and tokens.
    pseudonym_key : str or bytes
        The ingest key, so that ``must_link`` / ``never_link`` may name clear source keys.
    match_tokens : bool
        Match pseudonymised identifiers as they are (exact equality of tokens) when there is no
        vault; without it, tokens and no ``vault_key`` is an error.
    audit : AuditLog
        Where the read of clear values is logged (default: the warehouse's audit log).
    spark : SparkEngine or None
        Run Splink on this Spark session instead of DuckDB (the project's ``engine: spark``).

    Returns
    -------
    dict
        ``records``, ``sources``, ``customers``, ``links_by_rule``, ``unregistered_keys``, ``seconds``.
    """
    start = time.perf_counter()
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"identity.threshold: {threshold} is not in (0, 1]")
    if not engine.has_table("source_customers"):
        raise ValidationError(
            "identity: the warehouse has no source_customers table; run `crmlens ingest` first"
        )
    cols = set(engine.columns("source_customers"))
    wanted = [
        "source",
        "customer_key",
        *WAREHOUSE_ROLES,
        "gender",
        "country",
        "signup_at",
        "updated_at",
        "consent_marketing",
        "consent_profiling",
    ]
    select = ", ".join(f'"{c}"' if c in cols else f'NULL AS "{c}"' for c in dict.fromkeys(wanted))
    records = engine.query(
        f"SELECT {select} FROM source_customers WHERE customer_key IS NOT NULL ORDER BY source, customer_key"
    ).to_pandas()
    records = records.drop_duplicates(["source", "customer_key"], keep="last").reset_index(drop=True)
    compared, revealed = _clear_for_matching(engine, records, vault_key, match_tokens, audit)
    n_sources = int(records["source"].nunique())
    model = None
    if not retrain and engine.has_table(MODEL):
        stored = engine.table(MODEL).to_pandas()
        if len(stored) and int(stored["records"].iloc[0]) * 2 >= len(records):
            model = json.loads(stored["model"].iloc[0])
    linker = RecordLinker(
        {c: r for c, r in WAREHOUSE_ROLES.items() if compared[c].notna().any()},
        threshold=threshold,
        link_type="link_and_dedupe" if n_sources > 1 else "dedupe_only",
        source_col="source" if n_sources > 1 else None,
        model=model,
        seed=seed,
        spark=spark,
    )
    if len(records):
        result = linker.fit_predict(
            compared,
            _positions(records, must_link, "must_link", pseudonym_key),
            _positions(records, never_link, "never_link", pseudonym_key),
        )
    else:
        result = pd.DataFrame(
            {"cluster": np.array([], dtype=np.int64), "match_probability": [], "match_rule": []}
        )

    keymap = (
        engine.table(KEYMAP).to_pandas()
        if engine.has_table(KEYMAP)
        else pd.DataFrame({"source": [], "customer_key": [], "customer_id": [], "kind": []})
    )
    ids = (
        _assign_ids(records, result["cluster"].to_numpy(), keymap)
        if len(records)
        else np.array([], dtype=np.int64)
    )
    records["customer_id"] = ids
    links = pd.DataFrame(
        {
            "source": records["source"],
            "customer_key": records["customer_key"],
            "customer_id": ids.astype("int64"),
            "match_probability": result["match_probability"].astype(float),
            "match_rule": result["match_rule"].astype(str),
        }
    )
    golden = golden_records(records, survivorship, source_priority)

    # keep every id ever given: records now, plus earlier rows of records that left (erased, reloaded)
    record_rows = links[["source", "customer_key", "customer_id"]].assign(kind="record")
    current = set(zip(record_rows["source"], record_rows["customer_key"], strict=True))
    gone = np.array(
        [(s, k) not in current for s, k in zip(keymap["source"], keymap["customer_key"], strict=True)],
        dtype=bool,
    )
    old_rows = keymap.loc[gone]
    old_rows = old_rows[old_rows["kind"] != "alias"]
    absorbed = old_rows["kind"].eq("orphan") & old_rows["customer_key"].isin(set(records["customer_key"]))
    new_keymap = pd.concat([record_rows, old_rows[~absorbed]], ignore_index=True)

    pairs = linker.pairs_ if len(records) else pd.DataFrame()
    with engine.transaction():
        engine.write_table(KEYMAP, new_keymap)
        unregistered = _link_fact_keys(engine, fact_tables)
        engine.write_table("customer_links", links)
        orphans = engine.query(
            f"SELECT DISTINCT customer_id FROM {KEYMAP} WHERE kind = 'orphan' "
            "AND customer_id NOT IN (SELECT customer_id FROM customer_links)"
        ).to_pandas()
        extra = pd.DataFrame({"customer_id": orphans["customer_id"].astype("int64")})
        for column in GOLDEN_COLUMNS:
            extra[column] = pd.Series(
                [None] * len(extra), dtype=golden[column].dtype if len(golden) else object
            )
        extra["n_sources"] = np.zeros(len(extra), dtype="int32")
        customers = pd.concat([golden, extra], ignore_index=True) if len(extra) else golden
        _write_customers(engine, customers)
        _write_pairs(engine, records, linker, pairs)
        if getattr(linker, "model_", None) is not None and not linker.reused_model_:
            engine.write_table(
                MODEL, pd.DataFrame({"model": [json.dumps(linker.model_)], "records": [len(records)]})
            )
        for table in fact_tables:
            if engine.has_table(table) and {"source", "customer_key", "customer_id"} <= set(
                engine.columns(table)
            ):
                engine.execute(
                    f"UPDATE {table} AS t SET customer_id = m.customer_id FROM {KEYMAP} m "
                    "WHERE m.source = t.source AND m.customer_key = t.customer_key"
                )
    by_rule = links["match_rule"].value_counts().sort_index()
    return {
        "records": len(records),
        "sources": n_sources,
        "customers": int(links["customer_id"].nunique()),
        "unregistered_keys": unregistered,
        "links_by_rule": {str(k): int(v) for k, v in by_rule.items()},
        "blocking_rules": [" & ".join(r) for r in getattr(linker, "blocking_rules_", [])],
        "model_reused": bool(getattr(linker, "reused_model_", False)),
        "clear_values_from_vault": revealed,
        "seconds": round(time.perf_counter() - start, 3),
    }


def _clear_for_matching(
    engine: Engine, records: pd.DataFrame, vault_key: str | bytes | None, match_tokens: bool, audit: Any
) -> tuple[pd.DataFrame, int]:
    """The records as the matcher compares them: pseudonymised identifiers revealed from the vault, in memory.

    ``records`` itself keeps the tokens, so links and golden records are written with tokens only.
    """
    from crmlens.privacy.minimise import TASKS, reveal_for_task
    from crmlens.privacy.pii import TOKEN_RE

    columns = [c for c in TASKS["identity"].clear_pii if c in records.columns]
    tokenised = [
        c for c in columns if records[c].dropna().astype(str).map(lambda v: bool(TOKEN_RE.match(v))).any()
    ]
    if not tokenised:
        return records, 0
    if vault_key is None:
        if match_tokens:
            return records, 0
        raise ConfigError(
            f"identity: source_customers holds pseudonymised {', '.join(tokenised)}; fuzzy matching needs their "
            "clear values from the vault: pass vault_key (privacy.vault_key_file or CRMLENS_VAULT_KEY), or "
            "match_tokens=True to match them exactly"
        )
    return reveal_for_task(engine, records, tokenised, vault_key, "identity", audit=audit)


def _write_customers(engine: Engine, customers: pd.DataFrame) -> None:
    frame = customers.copy()
    engine.register("__identity_customers_df", frame)
    try:
        engine.execute(
            """CREATE OR REPLACE TABLE customers AS SELECT CAST(customer_id AS BIGINT) AS customer_id,
            CAST(name AS VARCHAR) AS name, CAST(email AS VARCHAR) AS email, CAST(phone AS VARCHAR) AS phone,
            CAST(birth_date AS DATE) AS birth_date, CAST(gender AS VARCHAR) AS gender,
            CAST(address AS VARCHAR) AS address, CAST(city AS VARCHAR) AS city,
            CAST(country AS VARCHAR) AS country, CAST(signup_at AS TIMESTAMP) AS signup_at,
            CAST(consent_marketing AS BOOLEAN) AS consent_marketing,
            CAST(consent_profiling AS BOOLEAN) AS consent_profiling, CAST(n_sources AS INTEGER) AS n_sources
            FROM __identity_customers_df ORDER BY customer_id"""
        )
    finally:
        engine.execute("DROP VIEW IF EXISTS __identity_customers_df")


def _link_fact_keys(engine: Engine, fact_tables: Sequence[str]) -> int:
    """Fact keys unknown as (source, key): an alias of a customer record with that key, else a new customer."""
    keys = []
    for table in fact_tables:
        if engine.has_table(table) and {"source", "customer_key"} <= set(engine.columns(table)):
            keys.append(f"SELECT DISTINCT source, customer_key FROM {table} WHERE customer_key IS NOT NULL")
    if not keys:
        return 0
    engine.execute(
        f"""CREATE OR REPLACE TEMP TABLE __identity_fact_keys AS
        SELECT DISTINCT f.source, f.customer_key FROM ({" UNION ".join(keys)}) f
        ANTI JOIN {KEYMAP} m ON m.source = f.source AND m.customer_key = f.customer_key"""
    )
    engine.execute(
        f"""INSERT INTO {KEYMAP} SELECT f.source, f.customer_key, min(m.customer_id), 'alias'
        FROM __identity_fact_keys f JOIN {KEYMAP} m ON m.customer_key = f.customer_key AND m.kind <> 'alias'
        GROUP BY ALL"""
    )
    start = engine.query(f"SELECT coalesce(max(customer_id), 0) FROM {KEYMAP}").scalar()
    engine.execute(
        f"""INSERT INTO {KEYMAP} SELECT source, customer_key,
        {int(start)} + dense_rank() OVER (ORDER BY customer_key), 'orphan'
        FROM __identity_fact_keys f ANTI JOIN {KEYMAP} m ON m.source = f.source AND m.customer_key = f.customer_key"""
    )
    count = engine.query(
        f"SELECT count(DISTINCT customer_key) FROM {KEYMAP} WHERE kind = 'orphan' "
        "AND customer_id NOT IN (SELECT customer_id FROM customer_links)"
    ).scalar()
    engine.execute("DROP TABLE IF EXISTS __identity_fact_keys")
    return int(count or 0)


def _write_pairs(engine: Engine, records: pd.DataFrame, linker: RecordLinker, pairs: pd.DataFrame) -> None:
    """Scored candidate pairs with their reasons, for ``crmlens identity explain``."""
    rows = []
    det = getattr(linker, "deterministic_pairs_", pd.DataFrame())
    src, key = records["source"].to_numpy(), records["customer_key"].to_numpy()
    for a, b, rule in det[["uid_l", "uid_r", "rule"]].itertuples(index=False) if len(det) else []:
        rows.append((src[int(a)], key[int(a)], src[int(b)], key[int(b)], 1.0, rule, "[]"))
    if len(pairs):
        for _, row in pairs.iterrows():
            a, b = int(row["uid_l"]), int(row["uid_r"])
            reasons = json.dumps(linker.reasons(row), ensure_ascii=False)
            rows.append((src[a], key[a], src[b], key[b], float(row["match_probability"]), "splink", reasons))
    frame = pd.DataFrame(
        rows, columns=["source_l", "key_l", "source_r", "key_r", "match_probability", "rule", "reasons"]
    )
    engine.write_table(PAIRS, frame)
