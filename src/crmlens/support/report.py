"""The report's Support section: triage outcome and the ticket analytics managers read.

Built from the ``ticket_triage`` table the pipeline writes and the canonical ``tickets`` table
(opening and resolution times, channel), so the report needs no model in memory.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px

from crmlens.engine.base import Engine
from crmlens.report import Section
from crmlens.support.analytics import ticket_analytics

__all__ = ["support_section"]


def support_section(engine: Engine) -> Section | None:
    """Queues, the most urgent tickets, volumes, resolution times and what slows resolution."""
    if not engine.has_table("ticket_triage"):
        return None
    triage = engine.table("ticket_triage").to_pandas()
    by_queue = triage.groupby("queue").size().reset_index(name="tickets")
    urgent = triage.sort_values("urgency", ascending=False).head(10)
    keep = [
        c
        for c in ("ticket_id", "intent", "confidence", "queue", "urgency", "urgency_reasons", "draft")
        if c in urgent
    ]
    tables: list[tuple[str, pd.DataFrame]] = [("Tickets by queue", by_queue), ("Most urgent", urgent[keep])]
    figures = []
    intro = "Every ticket gets an intent, a queue, an urgency and, when confident, a draft reply."
    if engine.has_table("tickets"):
        tickets = engine.table("tickets").to_pandas()
        if "ts" in tickets.columns and "ticket_id" in tickets.columns:
            predicted = triage[["ticket_id", "intent", "queue", "urgency_level"]].drop_duplicates("ticket_id")
            joined = tickets.drop(columns=["intent", "queue", "urgency_level"], errors="ignore").merge(
                predicted, on="ticket_id", how="left"
            )
            analytics = ticket_analytics(joined)
            tables += [
                ("Tickets and resolution", analytics["summary"]),
                ("Resolution hours by intent and queue", analytics["resolution"].head(20)),
                (
                    "What slows resolution (median hours against the overall median)",
                    analytics["drivers"].head(10),
                ),
            ]
            if "first_contact_resolution" in analytics:
                tables.append(("First-contact resolution by intent", analytics["first_contact_resolution"]))
            volume = analytics["volume"]
            colour = "channel" if "channel" in volume.columns else "intent"
            weekly = volume.groupby(["period", colour], as_index=False)["tickets"].sum()
            figures.append(
                px.bar(
                    weekly,
                    x="period",
                    y="tickets",
                    color=colour,
                    title=f"Tickets per week by {colour}",
                    height=320,
                )
            )
            intro += " Below: volumes over time, resolution times by intent and queue, and what drives them."
    return Section("Support", intro, tables=tables, figures=figures)
