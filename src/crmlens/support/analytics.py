"""Ticket analytics for managers: volumes, resolution times, first-contact resolution, and drivers.

Works on the canonical ``tickets`` table (``ts``, ``channel``, ``category``, ``priority``,
``status``, ``resolved_at``), optionally joined with :func:`crmlens.support.triage` output
(``intent``, ``queue``, ``urgency_level``). The predicted ``intent`` is used when present, else the
ticket's own ``category``. First-contact resolution is reported only where the data has it: a
boolean ``first_contact_resolved`` column, or a contact count (``contacts``, ``n_contacts``,
``replies``) in a column or in the ``attributes`` JSON.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from crmlens.exceptions import ValidationError

__all__ = ["ticket_analytics"]

_CONTACT_KEYS = ("contacts", "n_contacts", "replies", "contact_count")


def _first_contact(frame: pd.DataFrame) -> pd.Series | None:
    """True / False / NA per ticket when the data says whether one contact resolved it."""
    if "first_contact_resolved" in frame.columns:
        return frame["first_contact_resolved"].astype("boolean")
    resolved = frame["_resolved"]
    for key in _CONTACT_KEYS:
        if key in frame.columns:
            contacts = pd.to_numeric(frame[key], errors="coerce")
            return (resolved & (contacts == 1)).astype("boolean").where(contacts.notna())
    if "attributes" in frame.columns:

        def pick(raw: object) -> float:
            if isinstance(raw, str) and raw:
                try:
                    data = json.loads(raw)
                except ValueError:
                    return np.nan
            elif isinstance(raw, dict):
                data = raw
            else:
                return np.nan
            for key in ("first_contact_resolved", *_CONTACT_KEYS):
                if isinstance(data, dict) and key in data and data[key] is not None:
                    value = data[key]
                    if key == "first_contact_resolved":
                        return float(bool(value) and str(value).lower() not in ("false", "0", "no"))
                    try:
                        return -float(value)  # negative marks a count
                    except (TypeError, ValueError):
                        return np.nan
            return np.nan

        values = frame["attributes"].map(pick)
        if values.notna().any():
            fcr = pd.Series(pd.NA, index=frame.index, dtype="boolean")
            flag = values >= 0
            fcr[flag] = values[flag] == 1
            counts = values < 0
            fcr[counts] = resolved[counts] & (values[counts] == -1)
            return fcr
    return None


def ticket_analytics(tickets: pd.DataFrame, freq: str = "W") -> dict[str, pd.DataFrame]:
    """Tables for the report and dashboard.

    Returns ``summary`` (one row), ``volume`` (tickets per ``freq`` period, intent and channel),
    ``resolution`` (resolution hours by intent and queue: count, median, p90, mean),
    ``drivers`` (median resolution time of each level of intent, channel, priority, queue and
    urgency against the overall median; the levels that slow resolution most come first) and,
    when the data has it, ``first_contact_resolution`` by intent.
    """
    if "ts" not in tickets.columns:
        raise ValidationError("ticket analytics: the tickets frame needs a 'ts' column (when it was opened)")
    frame = tickets.copy()
    frame["ts"] = pd.to_datetime(frame["ts"], errors="coerce")
    if "intent" not in frame.columns:
        frame["intent"] = frame["category"] if "category" in frame.columns else "unknown"
    frame["intent"] = frame["intent"].fillna("unknown").astype(str)
    for col in ("channel", "queue", "priority"):
        if col in frame.columns:
            frame[col] = frame[col].fillna("unknown").astype(str)
    resolved_at = (
        pd.to_datetime(frame["resolved_at"], errors="coerce") if "resolved_at" in frame.columns else None
    )
    if resolved_at is not None:
        hours = (resolved_at - frame["ts"]).dt.total_seconds() / 3600
        frame["resolution_hours"] = hours.where(hours >= 0)
    else:
        frame["resolution_hours"] = np.nan
    frame["_resolved"] = frame["resolution_hours"].notna()

    out: dict[str, pd.DataFrame] = {}
    hours = frame["resolution_hours"].dropna()
    summary = {
        "tickets": len(frame),
        "resolved": int(frame["_resolved"].sum()),
        "resolved_share": float(frame["_resolved"].mean()) if len(frame) else np.nan,
        "median_resolution_hours": float(hours.median()) if len(hours) else np.nan,
        "p90_resolution_hours": float(hours.quantile(0.9)) if len(hours) else np.nan,
    }
    fcr = _first_contact(frame)
    if fcr is not None and fcr.notna().any():
        summary["first_contact_resolution"] = float(fcr.dropna().astype(bool).mean())
    out["summary"] = pd.DataFrame([summary])

    keys = ["period", "intent"] + (["channel"] if "channel" in frame.columns else [])
    periods = frame.dropna(subset=["ts"]).assign(period=lambda f: f["ts"].dt.to_period(freq).dt.start_time)
    out["volume"] = periods.groupby(keys, observed=True).size().rename("tickets").reset_index()

    groups = ["intent"] + (["queue"] if "queue" in frame.columns else [])
    out["resolution"] = (
        frame.groupby(groups, observed=True)
        .agg(
            tickets=("intent", "size"),
            resolved=("_resolved", "sum"),
            median_hours=("resolution_hours", "median"),
            p90_hours=("resolution_hours", lambda s: s.quantile(0.9)),
            mean_hours=("resolution_hours", "mean"),
        )
        .reset_index()
        .sort_values("tickets", ascending=False, kind="stable")
        .reset_index(drop=True)
    )

    overall = summary["median_resolution_hours"]
    rows = []
    for factor in ("intent", "channel", "priority", "queue", "urgency_level"):
        if factor not in frame.columns:
            continue
        stats = frame.groupby(factor, observed=True)["resolution_hours"].agg(["size", "count", "median"])
        for level, row in stats.iterrows():
            if row["count"] < 5:
                continue
            rows.append(
                {
                    "factor": factor,
                    "level": str(level),
                    "tickets": int(row["size"]),
                    "median_hours": float(row["median"]),
                    "ratio_to_overall": float(row["median"] / overall) if overall and overall > 0 else np.nan,
                }
            )
    drivers = pd.DataFrame(rows, columns=["factor", "level", "tickets", "median_hours", "ratio_to_overall"])
    out["drivers"] = drivers.sort_values("ratio_to_overall", ascending=False, kind="stable").reset_index(
        drop=True
    )

    if fcr is not None and fcr.notna().any():
        known = frame.assign(_fcr=fcr).dropna(subset=["_fcr"])
        out["first_contact_resolution"] = (
            known.groupby("intent", observed=True)["_fcr"]
            .agg(tickets="size", first_contact_resolution=lambda s: float(s.astype(bool).mean()))
            .reset_index()
        )
    return out
