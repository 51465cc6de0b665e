"""Report sections of the foundation: sources and loads, quarantine, data quality."""

from __future__ import annotations

import pandas as pd
import plotly.express as px

from crmlens.engine.base import Engine
from crmlens.ingest.quality import quality_report
from crmlens.report.builder import Section


def sources_section(engine: Engine) -> Section | None:
    if not engine.has_table("ingest_log"):
        return None
    loads = engine.query(
        "SELECT source, entity, regexp_extract(file, '[^/]+$') AS file, status, rows_in, rows_loaded, "
        "rows_quarantined, round(epoch(finished_at - started_at), 2) AS seconds FROM ingest_log "
        "WHERE status = 'loaded' ORDER BY finished_at"
    ).to_pandas()
    counts = pd.DataFrame(
        [{"table": t, "rows": engine.count(t)} for t in engine.tables() if not t.startswith("__")]
    )
    total_in = int(loads["rows_in"].sum()) if len(loads) else 0
    total_q = int(loads["rows_quarantined"].sum()) if len(loads) else 0
    section = Section(
        "Sources",
        f"{len(loads)} loads brought {total_in:,} rows in; {total_in - total_q:,} loaded and {total_q:,} "
        "quarantined with their reason (rows in = rows loaded + rows quarantined for every load).",
        tables=[("Loads", loads), ("Warehouse tables", counts)],
    )
    if len(loads):
        fig = px.bar(
            loads,
            x="source",
            y=["rows_loaded", "rows_quarantined"],
            title="Rows per source",
            barmode="stack",
            height=320,
        )
        section.figures.append(fig)
    return section


def quarantine_section(engine: Engine) -> Section | None:
    if not engine.has_rows("quarantine"):
        return None
    reasons = engine.query(
        "SELECT source, column_name AS column, regexp_replace(reason, '''[^'']*''|[0-9]+', '…', 'g') AS reason, "
        "count(*) AS rows FROM quarantine GROUP BY ALL ORDER BY rows DESC"
    ).to_pandas()
    examples = engine.query(
        "SELECT source, row_number AS row, column_name AS column, reason, raw::VARCHAR AS raw FROM quarantine "
        "ORDER BY source, row_number LIMIT 25"
    ).to_pandas()
    return Section(
        "Quarantine",
        "Every rejected row is kept with the reason, the source and its row number.",
        tables=[("Reasons", reasons), ("Examples", examples)],
    )


def quality_section(engine: Engine) -> Section | None:
    report = pd.DataFrame(quality_report(engine))
    if report.empty:
        return None
    shown = report[["table", "column", "rows", "null_pct", "distinct", "invalid", "min", "max", "top_values"]]
    return Section(
        "Data quality",
        "Per table and column: missing values, distinct values, invalid values, range.",
        tables=[("Columns", shown)],
    )


FOUNDATION_SECTIONS = [sources_section, quarantine_section, quality_section]
