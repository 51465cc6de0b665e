"""Cleaning rules as SQL, and the data-quality report.

Every raw value arrives as text. Each canonical column kind has a cleaning expression (run by
DuckDB over the whole batch, so validation costs a fraction of the read) and a failure test: a
value that is present but cannot be read makes the row go to quarantine with a reason naming
the column and the value. E-mail and phone are the exception: a malformed one is set to NULL and
its original kept in ``attributes`` (a customer is not rejected for a typo in a phone number).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers
import pyarrow as pa

from crmlens.engine.base import Engine
from crmlens.schema import Column

_FULLWIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
_HALFWIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
_WIDE = "[" + chr(0xFF01) + "-" + chr(0xFF5E) + chr(0x3000) + "]"
NULL_TOKENS = ("", "null", "none", "nan", "n/a", "na", "#n/a", "\\n")
TEXT_KINDS = {"text"}


def q(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """Quote a string literal for DuckDB."""
    return "'" + value.replace("'", "''") + "'"


def fold_expr(raw: str) -> str:
    """The raw value with full-width forms folded to ASCII and trimmed.

    ``translate`` and ``trim`` are slow in DuckDB (each copies every string), so they run only
    where needed: pure-ASCII values (byte length = character length) skip the full-width test,
    and values that neither start nor end with a space skip the trim.
    """
    trimmed = f"(CASE WHEN prefix({raw}, ' ') OR suffix({raw}, ' ') THEN trim({raw}) ELSE {raw} END)"
    return (
        f"(CASE WHEN strlen({raw}) = length({raw}) OR NOT regexp_matches({raw}, {lit(_WIDE)}) THEN {trimmed} "
        f"ELSE trim(translate({raw}, {lit(_FULLWIDTH)}, {lit(_HALFWIDTH)})) END)"
    )


def null_token_expr(folded: str) -> str:
    """NULL for a blank value or a null token (``NULL``, ``N/A`` ...); ``folded`` is a column reference.

    Tokens are short ASCII, so a longer byte length (``strlen``, constant time) rules a value out;
    ``list_contains`` over a constant list costs a third less in DuckDB than the same ``IN`` list.
    """
    tokens = ", ".join(lit(t) for t in NULL_TOKENS)
    longest = max(len(t) for t in NULL_TOKENS)
    return (
        f"CASE WHEN strlen({folded}) <= {longest} AND list_contains([{tokens}], lower({folded})) "
        f"THEN NULL ELSE {folded} END"
    )


def _number(text: str, decimal: str) -> str:
    """Money and numbers: currency symbols, thousands separators, decimal commas, (negatives)."""
    stripped = f"regexp_replace({text}, '(?i)[¥￥$€£\\s]|RMB|CNY|USD|EUR|HKD|元', '', 'g')"
    neg = f"(CASE WHEN regexp_matches({stripped}, '^\\(.*\\)$') THEN '-' || trim({stripped}, '()') ELSE {stripped} END)"
    if decimal == ",":
        normal = f"replace(replace({neg}, '.', ''), ',', '.')"
    elif decimal == ".":
        normal = f"replace({neg}, ',', '')"
    else:  # auto: the last of '.' and ',' is the decimal mark; a lone ',' before 1-2 digits is one too
        normal = (
            f"(CASE WHEN regexp_matches({neg}, '^-?[0-9.]*,[0-9]{{1,2}}$') "
            f"THEN replace(replace({neg}, '.', ''), ',', '.') ELSE replace({neg}, ',', '') END)"
        )
    return f"TRY_CAST({normal} AS DOUBLE)"


def _date_formats(date_order: str) -> list[str]:
    day_first = {"YMD": [], "DMY": ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"], "MDY": ["%m/%d/%Y", "%m-%d-%Y"]}[
        date_order
    ]
    bases = [
        "%Y/%m/%d",
        "%Y.%m.%d",
        "%Y年%m月%d日",
        "%Y%m%d",
        *day_first,
        "%d %b %Y",
        "%b %d, %Y",
        "%d-%b-%Y",
    ]
    times = [" %H:%M:%S", " %H:%M", "T%H:%M:%S", " %H:%M:%S.%f", " %I:%M:%S %p", " %I:%M %p", ""]
    return [b + t for b in bases for t in times]


def _timestamp(text: str, tz: str, date_order: str) -> str:
    """Any common date-time text to a naive UTC timestamp; naive values are in zone ``tz``."""
    formats = "[" + ", ".join(lit(f) for f in _date_formats(date_order)) + "]"
    iso = f"timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ))"
    local = f"timezone('UTC', timezone({lit(tz)}, TRY_STRPTIME({text}, {formats})))"
    epoch = (
        f"(CASE WHEN regexp_matches({text}, '^[0-9]{{10}}$') THEN to_timestamp(TRY_CAST({text} AS BIGINT))::TIMESTAMP "
        f"WHEN regexp_matches({text}, '^[0-9]{{13}}$') THEN to_timestamp(TRY_CAST({text} AS BIGINT) / 1000)::TIMESTAMP END)"
    )
    general = f"coalesce({iso}, {local}, {epoch})"
    fast = _fixed_offset_path(text, tz)
    return f"(CASE WHEN {fast} IS NOT NULL THEN {fast} ELSE {general} END)" if fast else general


def _fixed_offset_path(text: str, tz: str) -> str | None:
    """For a zone without daylight saving since 1992 (Asia/Shanghai), plain 'YYYY-MM-DD[ HH:MM:SS]'
    text from 1992 on is shifted by a constant: no per-row time-zone lookup. Older dates, longer
    text (offsets, fractions) and other zones take the general path."""
    zone = ZoneInfo(tz)
    offsets = {
        zone.utcoffset(datetime(year, month, 15)) for year in range(1992, 2040) for month in range(1, 13)
    }
    if len(offsets) != 1:
        return None
    seconds = int(offsets.pop().total_seconds())
    return f"(CASE WHEN length({text}) <= 19 AND {text} >= '1992' THEN TRY_CAST({text} AS TIMESTAMP) - INTERVAL ({seconds}) SECOND END)"


@dataclass(frozen=True)
class CleanOptions:
    timezone: str = "Asia/Shanghai"
    decimal: str = "auto"
    date_order: str = "YMD"
    region: str = "CN"


@dataclass(frozen=True)
class ColumnRule:
    """SQL for one column: the cleaned value, and a failure reason (NULL when the value is fine)."""

    value: str
    failure: str
    soft: bool = False  # a failure nulls the value (kept in attributes) instead of quarantining the row


def column_rule(
    column: Column, present: str, raw: str, options: CleanOptions, value_ref: str | None = None
) -> ColumnRule:
    """The cleaning expression and failure test of one canonical column.

    ``present`` refers to the value's :func:`present_expr`, computed once beforehand; ``raw`` to
    the text as it came (free text is normalised from it); ``value_ref`` to the cleaned value, so
    the failure test reuses it instead of cleaning the value again.
    """
    p = present
    kind = column.kind
    if kind == "text":
        value = f"nullif(trim(nfkc({raw})), '')"
    elif kind == "id":
        value = p
    elif kind == "category":
        value = f"lower({p})"
    elif kind == "email":
        value = f"CASE WHEN regexp_matches(lower({p}), '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$') THEN lower({p}) END"
    elif kind == "phone":
        value = f"e164({p})"
    elif kind in ("money", "float"):  # plain numbers skip the symbol and separator handling
        value = _number(p, options.decimal)
        if options.decimal != ",":  # CASE, not coalesce: DuckDB then casts once and skips the rest
            plain = f"TRY_CAST({p} AS DOUBLE)"
            value = f"(CASE WHEN {plain} IS NOT NULL THEN {plain} ELSE {value} END)"
    elif kind == "int":
        value = f"TRY_CAST(TRY_CAST(replace({p}, ',', '') AS DOUBLE) AS BIGINT)"
    elif kind == "bool":
        value = (
            f"CASE WHEN lower({p}) IN ('1','true','t','yes','y','是','同意','on') THEN TRUE "
            f"WHEN lower({p}) IN ('0','false','f','no','n','否','不同意','off') THEN FALSE END"
        )
    elif kind == "timestamp":
        value = _timestamp(p, options.timezone, options.date_order)
    elif kind == "date":  # a calendar date has no time zone
        formats = "[" + ", ".join(lit(f) for f in _date_formats(options.date_order)) + "]"
        value = f"coalesce(TRY_CAST({p} AS DATE), CAST(TRY_STRPTIME({p}, {formats}) AS DATE))"
    else:
        value = p
    value = f"CAST({value} AS {column.type})" if column.type != "JSON" else value
    cleaned = value_ref or f"({value})"
    name = column.name
    unreadable = f"{p} IS NOT NULL AND {cleaned} IS NULL"
    failure = f"CASE WHEN {unreadable} THEN {lit(name + ': cannot read ')} || {lit(chr(39))} || {p} || {lit(chr(39) + ' as ' + kind)}"
    if column.required:
        failure += f" WHEN {p} IS NULL THEN {lit(name + ': required value is missing')}"
    if column.check:
        check = re.sub(r"\bv\b", lambda _: cleaned, column.check)
        failure += f" WHEN {cleaned} IS NOT NULL AND NOT ({check}) THEN {lit(name + ': ' + (column.check_reason or 'fails ' + column.check))}"
    failure += " END"
    return ColumnRule(value=value, failure=failure, soft=kind in ("email", "phone"))


@functools.lru_cache(maxsize=200_000)
def _to_e164(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def register_functions(engine: Engine, region: str) -> None:
    """Register the Python functions the cleaning SQL calls: ``nfkc`` and ``e164``."""
    con = engine.con  # type: ignore[attr-defined]

    def nfkc(values: pa.Array) -> pa.Array:
        return pa.array(
            [None if v is None else unicodedata.normalize("NFKC", v) for v in values.to_pylist()], pa.string()
        )

    def e164(values: pa.Array) -> pa.Array:
        return pa.array([None if v is None else _to_e164(v, region) for v in values.to_pylist()], pa.string())

    for name, fn in (("nfkc", nfkc), ("e164", e164)):
        try:
            con.remove_function(name)
        except Exception:  # noqa: BLE001 - not registered yet
            pass
        con.create_function(
            name, fn, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special", side_effects=False
        )


def quality_report(engine: Engine, tables: list[str] | None = None, top: int = 3) -> list[dict[str, object]]:
    """Per table and column: nulls, distinct values, min/max, top values, and duplicate rows."""
    from crmlens.schema import TABLES

    report: list[dict[str, object]] = []
    names = tables or [t for t in engine.tables() if t in TABLES and TABLES[t].loadable]
    invalid: dict[tuple[str, str], int] = {}
    if engine.has_table("quarantine"):
        counts = engine.query(
            "SELECT entity, column_name, count(*) AS n FROM quarantine GROUP BY ALL"
        ).to_pandas()
        invalid = {(e, c): int(n) for e, c, n in counts.itertuples(index=False)}
    for table in names:
        total = engine.count(table)
        if total == 0:
            continue
        key = [k for k in TABLES[table].key if k in engine.columns(table)] if table in TABLES else []
        dup_keys = 0
        if key and total:
            cols = ", ".join(q(k) for k in key)
            dup_keys = int(
                engine.query(
                    f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM {q(table)} GROUP BY {cols})"
                ).scalar()
            )
        for column in engine.columns(table):
            if column in ("attributes", "loaded_at", "row_number"):
                continue
            c = q(column)
            stats = engine.query(
                f"SELECT count(*) - count({c}) AS nulls, approx_count_distinct({c}) AS distinct_values, "
                f"min({c})::VARCHAR AS min, max({c})::VARCHAR AS max FROM {q(table)}"
            ).to_pandas()
            tops = engine.query(
                f"SELECT {c}::VARCHAR AS v, count(*) AS n FROM {q(table)} WHERE {c} IS NOT NULL "
                f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {top}"
            ).to_pandas()
            row = stats.iloc[0].to_dict()
            soft = 0
            if "attributes" in engine.columns(table):
                soft = int(
                    engine.query(
                        f"SELECT count(*) FROM {q(table)} WHERE attributes->>{lit('_invalid_' + column)} IS NOT NULL"
                    ).scalar()
                )
            report.append(
                {
                    "table": table,
                    "column": column,
                    "rows": total,
                    "nulls": int(row["nulls"]),
                    "null_pct": round(100.0 * row["nulls"] / total, 2) if total else 0.0,
                    "distinct": int(row["distinct_values"]),
                    "min": row["min"],
                    "max": row["max"],
                    "invalid": invalid.get((table, column), 0) + soft,
                    "top_values": ", ".join(f"{v} ({n})" for v, n in zip(tops["v"], tops["n"], strict=True)),
                    "duplicate_keys": dup_keys,
                }
            )
    return report
