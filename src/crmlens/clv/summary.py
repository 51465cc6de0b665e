"""The customer summary the CLV models read (frequency, recency, T, monetary), computed in SQL.

One SQL statement serves both modes: the warehouse ``orders`` table through the Engine, and a
user's transactions file registered in an in-memory DuckDB. Conventions follow Fader & Hardie
and ``lifetimes``: purchases are counted in distinct periods (days or weeks, Monday-based), so
two orders on the same day (or week) are one transaction; ``frequency`` is the number of
*repeat* periods, ``recency`` the age at the last purchase, ``T`` the age at the end of
calibration, ``monetary_value`` the mean spend of the repeat periods. Rows with a negative
amount (returns, cancellations) are not purchases.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from crmlens.engine.base import Engine
from crmlens.exceptions import ConfigError, ValidationError

__all__ = [
    "summary_sql",
    "summary_from_transactions",
    "holdout_period_counts",
    "UNITS",
    "to_cutoff",
    "period_of",
]

UNITS = {"D": 1, "W": 7}
_EPOCH = pd.Timestamp("1970-01-05")  # a Monday: weeks run Monday to Sunday


def _unit(unit: str) -> int:
    key = unit.upper()[:1] if unit else ""
    if key not in UNITS:
        raise ConfigError(f"clv: unknown time unit {unit!r}; use 'D' (days) or 'W' (weeks)")
    return UNITS[key]


def to_cutoff(value: str | date | datetime | pd.Timestamp, name: str) -> pd.Timestamp:
    """The exclusive upper bound of a period end: a bare date includes that whole day."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"clv: {name} {value!r} is not a date (use YYYY-MM-DD)") from exc
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts + pd.Timedelta(days=1) if ts == ts.normalize() else ts + pd.Timedelta(microseconds=1)


def period_of(cutoff: pd.Timestamp, unit: str) -> int:
    """Index of the period holding the last instant before ``cutoff``."""
    last_day = (cutoff - pd.Timedelta(microseconds=1)).normalize()
    return int((last_day - _EPOCH).days // _unit(unit))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(ts: pd.Timestamp) -> str:
    return f"TIMESTAMP '{ts.strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def _tx_cte(table: str, customer_col: str, ts_col: str, amount_col: str | None, step: int, end: str) -> str:
    """Purchases (positive or unknown amount) before ``end``, with their period index ``p``."""
    amount = f"CAST({_q(amount_col)} AS DOUBLE)" if amount_col else "CAST(NULL AS DOUBLE)"
    ts = f"CAST({_q(ts_col)} AS TIMESTAMP)"
    return f"""
    tx AS (
      SELECT customer_id, ts, amount,
             CAST(floor(date_diff('day', DATE '1970-01-05', CAST(ts AS DATE)) / {step}) AS BIGINT) AS p
      FROM (
        SELECT {_q(customer_col)} AS customer_id, {ts} AS ts, {amount} AS amount
        FROM {_q(table)}
        WHERE {_q(customer_col)} IS NOT NULL AND {_q(ts_col)} IS NOT NULL AND {ts} < {end}
      )
      WHERE amount IS NULL OR amount >= 0
    )"""


def summary_sql(
    engine: Engine,
    calibration_end: str | date | datetime,
    holdout_end: str | date | datetime | None = None,
    unit: str = "D",
    *,
    table: str = "orders",
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    amount_col: str | None = "amount",
) -> pd.DataFrame:
    """Per-customer summary of ``table`` up to ``calibration_end`` (and the holdout after it).

    Returns one row per customer who bought by ``calibration_end``: ``customer_id, frequency,
    recency, T, monetary_value, total_amount, first_amount, periods_last_28d, periods_last_91d``
    (time in ``unit``), plus ``frequency_holdout, amount_holdout, duration_holdout`` when
    ``holdout_end`` is given. Dates are inclusive (a bare date counts its whole day).
    """
    step = _unit(unit)
    if not engine.has_table(table) and table not in _views(engine):
        raise ValidationError(f"clv: table {table!r} not found in the warehouse; load orders first")
    cols = set(engine.columns(table)) if engine.has_table(table) else None
    if cols is not None:
        needed = [c for c in (customer_col, ts_col, amount_col) if c]
        missing = [c for c in needed if c not in cols]
        if missing:
            raise ValidationError(f"clv: table {table!r} has no column(s) {missing}; it has {sorted(cols)}")
    cal_cut = to_cutoff(calibration_end, "calibration_end")
    cal_p = period_of(cal_cut, unit)
    hold_cut = to_cutoff(holdout_end, "holdout_end") if holdout_end is not None else None
    if hold_cut is not None and hold_cut <= cal_cut:
        raise ConfigError(f"clv: holdout_end {holdout_end} must be after calibration_end {calibration_end}")
    end = _lit(hold_cut if hold_cut is not None else cal_cut)
    d28 = max(1, round(28 / step))
    d91 = max(1, round(91 / step))
    holdout_select = ""
    holdout_join = ""
    if hold_cut is not None:
        hold_p = period_of(hold_cut, unit)
        holdout_select = f""",
           coalesce(h.n, 0) AS frequency_holdout,
           coalesce(h.amount, 0.0) AS amount_holdout,
           CAST({hold_p - cal_p} AS DOUBLE) AS duration_holdout"""
        holdout_join = f"""
    LEFT JOIN (
      SELECT customer_id, count(DISTINCT p) AS n, coalesce(sum(amount), 0.0) AS amount
      FROM tx WHERE ts >= {_lit(cal_cut)} GROUP BY 1
    ) h USING (customer_id)"""
    sql = f"""
    WITH {_tx_cte(table, customer_col, ts_col, amount_col, step, end)},
    cal AS (
      SELECT customer_id, p, amount, row_number() OVER (PARTITION BY customer_id ORDER BY p) AS k
      FROM (SELECT customer_id, p, sum(amount) AS amount FROM tx WHERE ts < {_lit(cal_cut)} GROUP BY 1, 2)
    ),
    s AS (
      SELECT customer_id,
             CAST(count(*) - 1 AS DOUBLE) AS frequency,
             CAST(max(p) - min(p) AS DOUBLE) AS recency,
             CAST({cal_p} - min(p) AS DOUBLE) AS "T",
             coalesce(avg(amount) FILTER (WHERE k > 1), 0.0) AS monetary_value,
             coalesce(sum(amount), 0.0) AS total_amount,
             coalesce(max(amount) FILTER (WHERE k = 1), 0.0) AS first_amount,
             CAST(count(*) FILTER (WHERE p > {cal_p} - {d28}) AS DOUBLE) AS periods_last_28d,
             CAST(count(*) FILTER (WHERE p > {cal_p} - {d91}) AS DOUBLE) AS periods_last_91d
      FROM cal GROUP BY 1
    )
    SELECT s.*{holdout_select}
    FROM s{holdout_join}
    ORDER BY customer_id
    """
    frame = engine.query(sql).to_pandas()
    return frame.reset_index(drop=True)


def _views(engine: Engine) -> list[str]:
    try:
        rows = engine.query("SELECT view_name FROM duckdb_views() WHERE NOT internal").to_pandas()
        temp = engine.query("SELECT table_name FROM duckdb_tables() WHERE temporary").to_pandas()
        return list(rows.iloc[:, 0]) + list(temp.iloc[:, 0])
    except Exception:  # engines without duckdb_views(): trust the caller
        return []


def holdout_period_counts(
    engine: Engine,
    calibration_end: str | date | datetime,
    holdout_end: str | date | datetime,
    unit: str = "D",
    *,
    table: str = "orders",
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    amount_col: str | None = "amount",
) -> pd.DataFrame:
    """Actual purchase periods in the holdout, by period offset after calibration (for tracking plots).

    Offset ``k`` covers the ``k``-th stretch of one unit counted from the calibration end (days
    1-7 after it are week 1), so it lines up with the model's prediction for ``k`` units. A
    purchase period (a customer's distinct day or Monday-based week, as in the summary) counts
    once, at its first holdout purchase, so the offsets add up to ``frequency_holdout``. Only
    customers present in calibration count. Returns ``offset, purchases``.
    """
    step = _unit(unit)
    cal_cut = to_cutoff(calibration_end, "calibration_end")
    hold_cut = to_cutoff(holdout_end, "holdout_end")
    duration = period_of(hold_cut, unit) - period_of(cal_cut, unit)
    first_day = f"CAST({_lit(cal_cut)} AS DATE)"
    sql = f"""
    WITH {_tx_cte(table, customer_col, ts_col, amount_col, step, _lit(hold_cut))},
    known AS (SELECT DISTINCT customer_id FROM tx WHERE ts < {_lit(cal_cut)}),
    hold AS (SELECT customer_id, p, min(ts) AS ts FROM tx WHERE ts >= {_lit(cal_cut)} GROUP BY 1, 2)
    SELECT CAST(least(greatest(
             floor(date_diff('day', {first_day}, CAST(ts AS DATE)) / {step}) + 1, 1), {max(duration, 1)}
           ) AS BIGINT) AS "offset",
           count(*) AS purchases
    FROM hold JOIN known USING (customer_id)
    GROUP BY 1 ORDER BY 1
    """
    return engine.query(sql).to_pandas()


def summary_from_transactions(
    transactions: pd.DataFrame,
    customer_col: str,
    date_col: str,
    amount_col: str | None = None,
    calibration_end: str | date | datetime | None = None,
    holdout_end: str | date | datetime | None = None,
    unit: str = "D",
) -> pd.DataFrame:
    """The same summary from a transactions frame (file mode), through an in-memory DuckDB.

    ``calibration_end`` defaults to the last transaction date. Customer ids may be strings or
    integers; they come back unchanged in ``customer_id``.
    """
    from crmlens.engine import DuckDBEngine

    frame = _standard_frame(transactions, customer_col, date_col, amount_col)
    if calibration_end is None:
        calibration_end = frame["ts"].max()
    with DuckDBEngine(":memory:") as engine:
        engine.register("clv_transactions", frame)
        return summary_sql(
            engine, calibration_end, holdout_end, unit, table="clv_transactions", amount_col="amount"
        )


def _standard_frame(
    transactions: pd.DataFrame, customer_col: str, date_col: str, amount_col: str | None
) -> pd.DataFrame:
    for name, col in (
        ("customer column", customer_col),
        ("date column", date_col),
        ("amount column", amount_col),
    ):
        if col is not None and col not in transactions.columns:
            raise ValidationError(
                f"clv: {name} {col!r} not in the transactions; columns are {list(transactions.columns)}"
            )
    ts = transactions[date_col]
    if not pd.api.types.is_datetime64_any_dtype(ts):
        ts = parse_dates(ts, date_col)
    out = pd.DataFrame({"customer_id": transactions[customer_col], "ts": ts})
    out["amount"] = pd.to_numeric(transactions[amount_col], errors="coerce") if amount_col else float("nan")
    return out


def parse_dates(values: pd.Series, column: str, date_format: str | None = None) -> pd.Series:
    """Dates from text or numbers; ``YYYYMMDD`` integers are recognised."""
    text = values.astype("string").str.strip()
    if date_format is None and text.str.fullmatch(r"\d{8}").fillna(False).all():
        date_format = "%Y%m%d"
    try:
        parsed = pd.to_datetime(text, format=date_format, errors="raise")
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"clv: date column {column!r} has values that are not dates: {exc}") from exc
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed
