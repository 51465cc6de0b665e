"""Consent per purpose: who may be profiled (trained on, scored, segmented) and who may be targeted.

Flags come from the sources (``source_customers.consent_marketing`` / ``consent_profiling``) and
the golden record (``customers``). The rule is opt-in and strict: a customer is allowed for a
purpose when a record says yes and no linked source record says no; unknown (NULL) is no. Stages
use :func:`consent_predicate` inside their SQL, or :func:`filter_consented` on a frame.

The warehouse entry points call :func:`enforce_consent` (on unless ``privacy.consent: off``):
profiling gates segments, model training and scoring, CLV and recommendations; marketing gates
every list of people to contact (target lists, next best actions, offers). Each call records in
``consent_log`` how many customers the stage left out, for the report. A warehouse that holds no
consent flag at all (no customer records) has nobody to exclude; the log says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from crmlens.engine.base import Engine
from crmlens.exceptions import ConfigError, NotFittedError

__all__ = [
    "CONSENT_LOG",
    "PURPOSES",
    "consent_coverage",
    "consent_exclusions",
    "consent_recorded",
    "enforce_consent",
    "consent_predicate",
    "consent_sql",
    "consented",
    "filter_consented",
]

# purpose -> the flag column; profiling covers training, scoring and segmenting; marketing covers targeting.
PURPOSES = {"marketing": "consent_marketing", "profiling": "consent_profiling"}
CONSENT_LOG = "consent_log"


def _flag(purpose: str) -> str:
    try:
        return PURPOSES[purpose]
    except KeyError:
        raise ConfigError(f"consent: unknown purpose {purpose!r}; use one of {sorted(PURPOSES)}") from None


def consent_sql(engine: Engine, purpose: str, default: bool = False) -> str:
    """A SELECT of the ``customer_id`` allowed for ``purpose`` (for ``IN (...)`` or a join).

    ``default`` is what a missing flag means; False (opt-in) unless the company's legal basis
    says otherwise.
    """
    flag = _flag(purpose)
    tables = set(engine.tables())
    has_customers = "customers" in tables and flag in engine.columns("customers")
    has_links = {"customer_links", "source_customers"} <= tables and flag in engine.columns(
        "source_customers"
    )
    refusals = (
        "SELECT l.customer_id FROM customer_links l JOIN source_customers s "
        f"ON s.source = l.source AND s.customer_key = l.customer_key WHERE s.{flag} IS FALSE AND l.customer_id IS NOT NULL"
    )
    dflt = "TRUE" if default else "FALSE"
    if has_customers:
        sql = f"SELECT customer_id FROM customers WHERE customer_id IS NOT NULL AND coalesce({flag}, {dflt})"
        if has_links:
            sql += f" AND customer_id NOT IN ({refusals})"
        return sql
    if has_links:
        yes = f"bool_or(s.{flag} IS TRUE)" if not default else "TRUE"
        return (
            "SELECT l.customer_id FROM customer_links l JOIN source_customers s "
            "ON s.source = l.source AND s.customer_key = l.customer_key WHERE l.customer_id IS NOT NULL "
            f"GROUP BY l.customer_id HAVING {yes} AND NOT bool_or(s.{flag} IS FALSE)"
        )
    raise NotFittedError(
        f"consent: no {flag} found; build the customers table (identity) or load source_customers with that column"
    )


def consent_predicate(
    engine: Engine, purpose: str, column: str = "customer_id", default: bool = False
) -> str:
    """A SQL predicate true for rows whose ``column`` is a customer allowed for ``purpose``."""
    return f"{column} IN ({consent_sql(engine, purpose, default)})"


def consented(engine: Engine, purpose: str, default: bool = False) -> pd.DataFrame:
    """The allowed customers for ``purpose`` as a frame with one column, ``customer_id``."""
    return engine.query(
        f"SELECT DISTINCT customer_id FROM ({consent_sql(engine, purpose, default)}) ORDER BY 1"
    ).to_pandas()


def filter_consented(
    engine: Engine, frame: pd.DataFrame, purpose: str, id_col: str = "customer_id", default: bool = False
) -> pd.DataFrame:
    """The rows of ``frame`` whose customer is allowed for ``purpose`` (a marketing list, a training set)."""
    if id_col not in frame.columns:
        raise ConfigError(f"consent: frame has no column {id_col!r}; pass id_col=")
    allowed = set(consented(engine, purpose, default)["customer_id"].tolist())
    return frame[frame[id_col].isin(allowed)].copy()


def consent_coverage(engine: Engine) -> dict[str, Any]:
    """Per purpose: customers, how many said yes, no, nothing, and how many are allowed."""
    out: dict[str, Any] = {}
    for purpose, flag in PURPOSES.items():
        table = "customers" if engine.has_rows("customers") else "source_customers"
        if not engine.has_table(table) or flag not in engine.columns(table):
            continue
        row = (
            engine.query(
                f"SELECT count(*) AS n, count(*) FILTER ({flag} IS TRUE) AS yes, count(*) FILTER ({flag} IS FALSE) AS no, "
                f"count(*) FILTER ({flag} IS NULL) AS unknown FROM {table}"
            )
            .to_pandas()
            .iloc[0]
        )
        try:
            allowed = int(
                engine.query(
                    f"SELECT count(DISTINCT customer_id) FROM ({consent_sql(engine, purpose)})"
                ).scalar()
            )
        except NotFittedError:
            allowed = None
        out[purpose] = {
            "table": table,
            "records": int(row["n"]),
            "yes": int(row["yes"]),
            "no": int(row["no"]),
            "unknown": int(row["unknown"]),
            "allowed_customers": allowed,
        }
    return out


def consent_recorded(engine: Engine, purpose: str) -> bool:
    """Whether the warehouse holds any record that can carry ``purpose``'s flag (customers or source records)."""
    flag = _flag(purpose)
    tables = set(engine.tables())
    return any(
        table in tables and flag in engine.columns(table) and engine.count(table) > 0
        for table in ("customers", "source_customers")
    )


def _log(
    engine: Engine, stage: str, purpose: str, enforced: bool, customers: int, excluded: int, note: str
) -> None:
    engine.execute(
        f"CREATE TABLE IF NOT EXISTS {CONSENT_LOG} (stage VARCHAR, purpose VARCHAR, enforced BOOLEAN, "
        "customers BIGINT, excluded BIGINT, note VARCHAR, logged_at TIMESTAMP)"
    )
    engine.execute(
        f"INSERT INTO {CONSENT_LOG} VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [stage, purpose, enforced, customers, excluded, note],
    )


def enforce_consent(
    engine: Engine,
    frame: pd.DataFrame,
    purposes: str | Sequence[str],
    stage: str,
    *,
    enforce: bool = True,
    id_col: str = "customer_id",
    log: bool = True,
) -> pd.DataFrame:
    """The rows of ``frame`` whose customer may be used for every one of ``purposes``; logs what ``stage`` left out.

    ``enforce=False`` (``privacy.consent: off``) passes every row and logs that consent was not
    enforced. Rows without a customer id are left out when enforcing: nobody consented for them.
    """
    if id_col not in frame.columns:
        raise ConfigError(f"consent: {stage}: frame has no column {id_col!r}")
    wanted = (purposes,) if isinstance(purposes, str) else tuple(purposes)
    out = frame
    for purpose in wanted:
        _flag(purpose)
        customers = int(out[id_col].nunique())
        applied, excluded = False, 0
        if not enforce:
            note = "not enforced (privacy.consent: off)"
        elif not consent_recorded(engine, purpose):
            note = "no consent flags in the warehouse: nobody to exclude"
        else:
            allowed = set(consented(engine, purpose)["customer_id"].tolist())
            keep = out[id_col].isin(allowed)
            applied, excluded = True, int(out.loc[~keep, id_col].nunique())
            out = out[keep]
            note = "opt-in: no recorded yes, or a refusal in any source, excludes"
        if log:
            _log(engine, stage, purpose, applied, customers, excluded, note)
    return out.copy() if out is not frame else out


def consent_exclusions(engine: Engine) -> pd.DataFrame:
    """The latest :func:`enforce_consent` record of each stage and purpose: customers seen, how many left out."""
    if not engine.has_table(CONSENT_LOG):
        return pd.DataFrame(columns=["stage", "purpose", "enforced", "customers", "excluded", "note"])
    return engine.query(
        f"SELECT stage, purpose, enforced, customers, excluded, note FROM {CONSENT_LOG} "
        "QUALIFY row_number() OVER (PARTITION BY stage, purpose ORDER BY logged_at DESC) = 1 ORDER BY min(logged_at) "
        "OVER (PARTITION BY stage), stage, purpose"
    ).to_pandas()
