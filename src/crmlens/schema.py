"""The canonical warehouse tables of DESIGN.md, in one place.

Every stage reads and writes these tables; their names and columns are the contract between
stages. Source-fed tables carry ``source`` and ``customer_key`` (the customer's key in that
source); identity resolution fills ``customer_id``. Source columns that map to nothing land in
the ``attributes`` JSON column, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """One canonical column.

    ``kind`` says how ingest cleans it: ``text``, ``id`` (trimmed, width-folded), ``email``,
    ``phone`` (E.164), ``timestamp`` (to UTC), ``date``, ``money`` (currency symbols, decimal
    commas), ``int``, ``float``, ``bool``, ``category`` (lower-cased), ``json``.
    """

    name: str
    type: str
    kind: str = "text"
    required: bool = False
    check: str | None = None  # SQL predicate over the cleaned value ``v``; failing rows are quarantined
    check_reason: str | None = None


@dataclass(frozen=True)
class Table:
    """A canonical table: columns, natural key, and whether sources load into it."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    loadable: bool = True  # sources may name it as their entity
    aliases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def ddl(self) -> str:
        cols = ",\n  ".join(f'"{c.name}" {c.type}' for c in self.columns)
        return f'CREATE TABLE IF NOT EXISTS "{self.name}" (\n  {cols}\n)'


# Columns every source-fed table carries, added by the loader.
LINEAGE = (
    Column("source", "VARCHAR"),
    Column("row_number", "BIGINT"),
    Column("attributes", "JSON", kind="json"),
    Column("loaded_at", "TIMESTAMP"),
)

_POSITIVE = "v > 0"

TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "source_customers",
            (
                Column("customer_key", "VARCHAR", "id", required=True),
                Column("name", "VARCHAR", "text"),
                Column("email", "VARCHAR", "email"),
                Column("phone", "VARCHAR", "phone"),
                Column("birth_date", "DATE", "date"),
                Column("gender", "VARCHAR", "category"),
                Column("address", "VARCHAR", "text"),
                Column("city", "VARCHAR", "text"),
                Column("country", "VARCHAR", "category"),
                Column("external_id", "VARCHAR", "id"),
                Column("signup_at", "TIMESTAMP", "timestamp"),
                Column("updated_at", "TIMESTAMP", "timestamp"),
                Column("consent_marketing", "BOOLEAN", "bool"),
                Column("consent_profiling", "BOOLEAN", "bool"),
            )
            + LINEAGE,
            key=("source", "customer_key"),
            aliases=("customers",),
        ),
        Table(
            "products",
            (
                Column("product_id", "VARCHAR", "id", required=True),
                Column("name", "VARCHAR", "text"),
                Column("category", "VARCHAR", "text"),
                Column("price", "DOUBLE", "money", check="v >= 0", check_reason="negative price"),
                Column("description", "VARCHAR", "text"),
            )
            + LINEAGE,
            key=("product_id",),
        ),
        Table(
            "orders",
            (
                Column("order_id", "VARCHAR", "id", required=True),
                Column("line_no", "INTEGER", "int"),
                Column("customer_key", "VARCHAR", "id", required=True),
                Column("customer_id", "BIGINT", "int"),
                Column("ts", "TIMESTAMP", "timestamp", required=True),
                Column("product_id", "VARCHAR", "id"),
                Column("quantity", "DOUBLE", "float", check=_POSITIVE, check_reason="quantity must be > 0"),
                Column("unit_price", "DOUBLE", "money", check="v >= 0", check_reason="negative unit price"),
                Column("discount", "DOUBLE", "money", check="v >= 0", check_reason="negative discount"),
                Column("amount", "DOUBLE", "money", required=True),
                Column("channel", "VARCHAR", "category"),
                Column("currency", "VARCHAR", "category"),
                Column("status", "VARCHAR", "category"),
            )
            + LINEAGE,
            key=("source", "order_id", "line_no"),
        ),
        Table(
            "events",
            (
                Column("event_id", "VARCHAR", "id"),
                Column("customer_key", "VARCHAR", "id", required=True),
                Column("customer_id", "BIGINT", "int"),
                Column("ts", "TIMESTAMP", "timestamp", required=True),
                Column("event_type", "VARCHAR", "category", required=True),
                Column("product_id", "VARCHAR", "id"),
                Column("session_id", "VARCHAR", "id"),
            )
            + LINEAGE,
            key=("source", "customer_key", "ts", "event_type", "product_id", "session_id"),
        ),
        Table(
            "feedback",
            (
                Column("feedback_id", "VARCHAR", "id", required=True),
                Column("customer_key", "VARCHAR", "id"),
                Column("customer_id", "BIGINT", "int"),
                Column("ts", "TIMESTAMP", "timestamp"),
                Column("channel", "VARCHAR", "category"),
                Column("product_id", "VARCHAR", "id"),
                Column("text", "VARCHAR", "text", required=True),
                Column(
                    "rating", "DOUBLE", "float", check="v BETWEEN 0 AND 10", check_reason="rating out of 0-10"
                ),
                Column("language", "VARCHAR", "category"),
            )
            + LINEAGE,
            key=("source", "feedback_id"),
        ),
        Table(
            "tickets",
            (
                Column("ticket_id", "VARCHAR", "id", required=True),
                Column("customer_key", "VARCHAR", "id"),
                Column("customer_id", "BIGINT", "int"),
                Column("ts", "TIMESTAMP", "timestamp", required=True),
                Column("channel", "VARCHAR", "category"),
                Column("subject", "VARCHAR", "text"),
                Column("body", "VARCHAR", "text"),
                Column("category", "VARCHAR", "category"),
                Column("priority", "VARCHAR", "category"),
                Column("status", "VARCHAR", "category"),
                Column("resolved_at", "TIMESTAMP", "timestamp"),
            )
            + LINEAGE,
            key=("source", "ticket_id"),
        ),
        Table(
            "campaign_contacts",
            (
                Column("campaign_id", "VARCHAR", "id", required=True),
                Column("customer_key", "VARCHAR", "id", required=True),
                Column("customer_id", "BIGINT", "int"),
                Column("ts", "TIMESTAMP", "timestamp"),
                Column(
                    "treatment",
                    "INTEGER",
                    "int",
                    required=True,
                    check="v IN (0, 1)",
                    check_reason="treatment must be 0 or 1",
                ),
                Column(
                    "responded",
                    "INTEGER",
                    "int",
                    check="v IN (0, 1)",
                    check_reason="responded must be 0 or 1",
                ),
                Column("revenue", "DOUBLE", "money"),
            )
            + LINEAGE,
            key=("source", "campaign_id", "customer_key"),
        ),
        Table(
            "leads",
            (
                Column("lead_id", "VARCHAR", "id", required=True),
                Column("ts", "TIMESTAMP", "timestamp"),
                Column("lead_source", "VARCHAR", "category"),
                Column(
                    "converted",
                    "INTEGER",
                    "int",
                    check="v IN (0, 1)",
                    check_reason="converted must be 0 or 1",
                ),
            )
            + LINEAGE,
            key=("source", "lead_id"),
        ),
        Table(
            "quarantine",
            (
                Column("source", "VARCHAR"),
                Column("entity", "VARCHAR"),
                Column("file", "VARCHAR"),
                Column("row_number", "BIGINT"),
                Column("column_name", "VARCHAR"),
                Column("reason", "VARCHAR"),
                Column("raw", "JSON"),
                Column("load_id", "VARCHAR"),
                Column("quarantined_at", "TIMESTAMP"),
            ),
            loadable=False,
        ),
        Table(
            "ingest_log",
            (
                Column("load_id", "VARCHAR"),
                Column("source", "VARCHAR"),
                Column("entity", "VARCHAR"),
                Column("file", "VARCHAR"),
                Column("file_hash", "VARCHAR"),
                Column("rows_in", "BIGINT"),
                Column("rows_loaded", "BIGINT"),
                Column("rows_quarantined", "BIGINT"),
                Column("rows_skipped", "BIGINT"),
                Column("watermark", "VARCHAR"),
                Column("status", "VARCHAR"),
                Column("message", "VARCHAR"),
                Column("started_at", "TIMESTAMP"),
                Column("finished_at", "TIMESTAMP"),
            ),
            loadable=False,
        ),
    ]
}

# What a later stage writes; created empty so every reader finds the table.
DERIVED_DDL: dict[str, str] = {
    "customers": """CREATE TABLE IF NOT EXISTS customers (customer_id BIGINT, name VARCHAR, email VARCHAR,
        phone VARCHAR, birth_date DATE, gender VARCHAR, address VARCHAR, city VARCHAR, country VARCHAR,
        signup_at TIMESTAMP, consent_marketing BOOLEAN, consent_profiling BOOLEAN, n_sources INTEGER)""",
    "customer_links": """CREATE TABLE IF NOT EXISTS customer_links (source VARCHAR, customer_key VARCHAR,
        customer_id BIGINT, match_probability DOUBLE, match_rule VARCHAR)""",
    "scores": """CREATE TABLE IF NOT EXISTS scores (customer_id BIGINT, task VARCHAR, model_version VARCHAR,
        score DOUBLE, label VARCHAR, reasons JSON, scored_at TIMESTAMP)""",
    "segments": """CREATE TABLE IF NOT EXISTS segments (customer_id BIGINT, segmentation VARCHAR,
        segment VARCHAR, segment_name VARCHAR)""",
    "recommendations": """CREATE TABLE IF NOT EXISTS recommendations (customer_id BIGINT, rank INTEGER,
        product_id VARCHAR, score DOUBLE, reason VARCHAR)""",
}

# Load order: referenced tables first, so reference checks (unknown product) see them.
LOAD_ORDER = [
    "products",
    "source_customers",
    "orders",
    "events",
    "feedback",
    "tickets",
    "campaign_contacts",
    "leads",
]


def resolve_entity(name: str) -> Table:
    """The loadable table a source names as its ``entity`` (``customers`` means ``source_customers``)."""
    for table in TABLES.values():
        if table.loadable and (name == table.name or name in table.aliases):
            return table
    choices = ", ".join(t.name for t in TABLES.values() if t.loadable)
    raise KeyError(f"unknown entity {name!r}; choose one of: {choices}")
