"""Build ``customer_360``: every feature family as of a cutoff, one row per customer.

Each family is a SQL file in ``features/sql`` written once in DuckDB's dialect with an
``{as_of}`` placeholder; on Spark the same text is transpiled by sqlglot. A family only reads
rows dated before the cutoff, so a profile never sees its own future (each has a leakage test).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

import pandas as pd

from crmlens.engine.base import Engine
from crmlens.exceptions import NotFittedError

FAMILIES = [
    "rfm",
    "rhythm",
    "trend",
    "basket",
    "category",
    "price",
    "channel",
    "web",
    "support",
    "feedback",
    "sentiment",
    "campaign",
    "demographics",
]
KEY = "customer_id"
# Shared steps that families read like tables; each is computed once per build, before the families.
INTERMEDIATES = ["order_totals"]


@dataclass(frozen=True)
class Family:
    """One feature family: its SQL and the tables it reads (from its header)."""

    name: str
    sql: str
    reads: tuple[str, ...]
    description: str
    zero_when_absent: tuple[str, ...] = ()  # counts that are 0, not unknown, for a customer with no rows


def load_family(name: str) -> Family:
    text = resources.files("crmlens.features").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
    header = dict(re.findall(r"^-- (family|grain|reads|zero_when_absent): (.+)$", text, flags=re.M))
    description = " ".join(
        line[3:] for line in text.splitlines() if line.startswith("-- ") and ":" not in line.split(" ")[1]
    )
    if name not in INTERMEDIATES and header.get("grain") != KEY:
        raise ValueError(f"feature family {name}: grain must be {KEY}")
    reads = tuple(t.strip() for t in header["reads"].split(","))
    zeros = tuple(t.strip() for t in header.get("zero_when_absent", "").split(",") if t.strip())
    return Family(name, text, reads, description, zeros)


def _slug(value: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(value).lower()).strip("_") or "other"


class FeatureBuilder:
    """Orders and runs the families into ``customer_360(customer_id, as_of, ...)``.

    ``top_categories`` and ``channels`` fix the share columns; by default they are the most
    frequent values before the cutoff (so the column set itself never depends on the future).
    """

    def __init__(
        self,
        families: list[str] | None = None,
        top_categories: list[str] | int = 8,
        channels: list[str] | int = 5,
    ) -> None:
        self.families = families or FAMILIES
        self.top_categories = top_categories
        self.channels = channels

    def _top(self, engine: Engine, sql: str, given: list[str] | int) -> list[str]:
        if isinstance(given, list):
            return given
        return [
            v for v in engine.query(sql + f" LIMIT {int(given)}").to_pandas()["v"].tolist() if v is not None
        ]

    def _available(self, engine: Engine, family: Family) -> bool:
        """Whether every table the family reads, directly or through an intermediate, has rows."""
        for table in family.reads:
            if table in INTERMEDIATES:
                if not self._available(engine, load_family(table)):
                    return False
            elif not engine.has_rows(table):
                return False
        return True

    def render(self, engine: Engine, family: Family, as_of: str) -> str | None:
        """The family's SQL for this cutoff, or None when a table it reads is missing or empty."""
        if not self._available(engine, family):
            return None
        fills: dict[str, str] = {"as_of": as_of}
        if family.name == "category":
            cats = self._top(
                engine,
                f"SELECT p.category AS v FROM orders o JOIN products p ON p.product_id = o.product_id "
                f"WHERE o.ts < {as_of} AND p.category IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1",
                self.top_categories,
            )
            if not cats:
                return None
            fills["category_columns"] = ",\n    ".join(
                f"sum(CASE WHEN p.category = '{c.replace(chr(39), chr(39) * 2)}' THEN o.amount ELSE 0 END) "
                f"/ nullif(sum(o.amount), 0) AS cat_share_{_slug(c)}"
                for c in cats
            )
        if family.name == "channel":
            chans = self._top(
                engine,
                f"SELECT channel AS v FROM orders WHERE ts < {as_of} AND channel IS NOT NULL "
                "GROUP BY 1 ORDER BY count(*) DESC, 1",
                self.channels,
            )
            if not chans:
                return None
            fills["channel_columns"] = ",\n    ".join(
                f"count(CASE WHEN channel = '{c.replace(chr(39), chr(39) * 2)}' THEN 1 END) "
                f"/ count(*) AS channel_share_{_slug(c)}"
                for c in chans
            )
        body = "\n".join(line for line in family.sql.splitlines() if not line.startswith("--"))
        return body.format(**fills)

    def build_sql(self, engine: Engine, as_of: str | date | datetime) -> str:
        """One SELECT joining every available family onto the customers known at the cutoff."""
        cutoff = f"TIMESTAMP '{pd.Timestamp(as_of).strftime('%Y-%m-%d %H:%M:%S')}'"
        parts: list[tuple[str, str]] = []
        for name in self.families:
            sql = self.render(engine, load_family(name), cutoff)
            if sql is not None:
                parts.append((name, sql))
        if not parts:
            raise NotFittedError(
                "customer_360: no feature family has data; run `crmlens ingest` and identity first"
            )
        shared = [
            f"{name} AS (\n{self.render(engine, load_family(name), cutoff)}\n)"
            for name in INTERMEDIATES
            if any(name in load_family(family).reads for family, _ in parts)
        ]
        prefix = f"WITH {', '.join(shared)} " if shared else ""
        columns: list[str] = []
        for name, sql in parts:
            family = load_family(name)
            for column in engine.query_columns(f"{prefix}SELECT * FROM (\n{sql}\n)"):
                if column != KEY:
                    ref = f"f_{name}.{column}"
                    value = f"coalesce({ref}, 0)" if column in family.zero_when_absent else ref
                    columns.append(f"{value} AS {column}")
        # CTEs are prefixed so that a family's name (feedback, support...) never shadows a table.
        base = [
            f"SELECT {KEY} FROM f_{name}"
            + (" WHERE days_since_signup IS NOT NULL" if name == "demographics" else "")
            for name, _ in parts
        ]
        ctes = ",\n".join(shared + [f"f_{name} AS (\n{sql}\n)" for name, sql in parts])
        joins = "\n".join(f"LEFT JOIN f_{name} USING ({KEY})" for name, _ in parts)
        return (
            f"WITH {ctes},\nbase AS (\n" + "\nUNION\n".join(base) + "\n)\n"
            f"SELECT base.{KEY}, CAST({cutoff} AS TIMESTAMP) AS as_of, {', '.join(columns)}\nFROM base\n{joins}"
            f"\nORDER BY base.{KEY}"
        )

    def build(self, engine: Engine, as_of: str | date | datetime, write: bool = True) -> pd.DataFrame:
        """Compute the profile as of the cutoff; with ``write``, replace that cutoff in ``customer_360``."""
        sql = self.build_sql(engine, as_of)
        frame = engine.query(sql).to_pandas()
        if write:
            stamp = pd.Timestamp(as_of).strftime("%Y-%m-%d %H:%M:%S")
            if engine.has_table("customer_360") and set(frame.columns) == set(engine.columns("customer_360")):
                engine.execute(f"DELETE FROM customer_360 WHERE as_of = TIMESTAMP '{stamp}'")
                engine.write_table("customer_360", frame, mode="append")
            else:
                engine.write_table("customer_360", frame, mode="replace")
        return frame


def describe_families() -> list[dict[str, Any]]:
    """Each family's name, the tables it reads, and what it computes."""
    return [
        {"family": f.name, "reads": ", ".join(f.reads), "description": f.description}
        for f in map(load_family, FAMILIES)
    ]
