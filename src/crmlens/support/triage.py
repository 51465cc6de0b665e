"""One call from the ``tickets`` table to intents, queues, urgency and reply drafts.

:func:`triage` is what the warehouse pipeline runs on new tickets; :func:`build_profiles` turns the
canonical ``customers`` and ``orders`` tables (and CLV output, when there is one) into the customer
details a draft may quote.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmlens.exceptions import ValidationError
from crmlens.support.drafts import draft_reply
from crmlens.support.faq import FaqIndex
from crmlens.support.intents import IntentClassifier
from crmlens.support.routing import Router, SupportConfig, threshold_for_precision
from crmlens.support.urgency import urgency_scores
from crmlens.text.preprocess import detect_language

__all__ = ["TRIAGE_COLUMNS", "build_profiles", "ticket_text", "triage"]

TRIAGE_COLUMNS = [
    "ticket_id", "customer_id", "language", "intent", "confidence", "queue", "automated", "urgency",
    "urgency_level", "urgency_reasons", "faq_id", "faq_question", "faq_score", "draft", "handover_reason",
]  # fmt: skip
_CLOSED = {"closed", "resolved", "solved", "done", "已解决", "已关闭"}


def ticket_text(tickets: pd.DataFrame, columns: Sequence[str] = ("subject", "body")) -> list[str]:
    """Subject and body joined (whichever exist and are not empty)."""
    present = [c for c in columns if c in tickets.columns]
    if not present:
        raise ValidationError(
            f"tickets: none of the text columns {', '.join(columns)} found "
            f"(columns: {', '.join(map(str, tickets.columns))})"
        )
    parts = tickets[present].astype("object").where(tickets[present].notna(), "")
    return [". ".join(str(v).strip() for v in row if str(v).strip()) for row in parts.itertuples(index=False)]


def build_profiles(
    customers: pd.DataFrame | None = None,
    orders: pd.DataFrame | None = None,
    value: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Customer details for drafts and urgency, indexed by ``customer_id``.

    Columns: ``name`` (first word of the golden-record name), ``last_order_id``,
    ``last_order_date``, ``order_status`` and ``value_tier`` (``high``/``medium``/``low``). ``value``
    may be CLV output with ``customer_id`` and ``value_tier`` or ``clv``; without it the tier comes
    from total order amount (top 10% high, next 30% medium), a stand-in until CLV has run.
    """
    parts: list[pd.DataFrame] = []
    if customers is not None and "name" in customers.columns and "customer_id" in customers.columns:
        names = customers.set_index("customer_id")["name"].astype("object")
        first = names.map(lambda v: str(v).split()[0] if isinstance(v, str) and v.split() else None)
        parts.append(first.rename("name").to_frame())
    if orders is not None and len(orders) and "customer_id" in orders.columns:
        o = orders.dropna(subset=["customer_id"]).copy()
        o["ts"] = pd.to_datetime(o["ts"], errors="coerce")
        last = o.sort_values(["customer_id", "ts"], kind="stable").groupby("customer_id").tail(1)
        last = last.set_index("customer_id")
        info = pd.DataFrame(index=last.index)
        info["last_order_id"] = last["order_id"].astype("object")
        info["last_order_date"] = last["ts"].dt.date.astype("object")
        if "status" in last.columns:
            info["order_status"] = last["status"].astype("object")
        parts.append(info)
        if value is None and "amount" in o.columns:
            spend = o.groupby("customer_id")["amount"].sum()
            rank = spend.rank(pct=True, method="first")
            tier = np.where(rank > 0.9, "high", np.where(rank > 0.6, "medium", "low"))
            parts.append(pd.Series(tier, index=spend.index, name="value_tier").to_frame())
    if value is not None and "customer_id" in value.columns:
        v = value.set_index("customer_id")
        if "value_tier" in v.columns:
            parts.append(v[["value_tier"]].astype("object"))
        elif "clv" in v.columns:
            rank = v["clv"].rank(pct=True, method="first")
            tier = np.where(rank > 0.9, "high", np.where(rank > 0.6, "medium", "low"))
            parts.append(pd.Series(tier, index=v.index, name="value_tier").to_frame())
    if not parts:
        return pd.DataFrame(
            columns=["name", "last_order_id", "last_order_date", "order_status", "value_tier"]
        )
    profiles = pd.concat(parts, axis=1)
    profiles.index.name = "customer_id"
    return profiles


def _threshold(model: IntentClassifier, config: SupportConfig) -> float:
    if abs(config.target_precision - model.target_precision) < 1e-12 or not len(model.oof_confidence_):
        return float(model.threshold_)
    return threshold_for_precision(model.oof_confidence_, model.oof_correct_, config.target_precision)[0]


def triage(
    tickets_frame: pd.DataFrame,
    model: IntentClassifier,
    faq_index: FaqIndex | None = None,
    profiles: pd.DataFrame | None = None,
    config: SupportConfig | Mapping[str, Any] | None = None,
    as_of: Any = None,
    sentiment: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Intent, confidence, queue, urgency (with reasons) and a reply draft for every ticket.

    Parameters
    ----------
    tickets_frame : the canonical ``tickets`` table (``ticket_id``, ``customer_id``, ``ts``,
        ``subject``, ``body``, ``status``, ``resolved_at``; a ``sentiment`` column in [-1, 1] is used
        when present).
    model : a fitted :class:`IntentClassifier`.
    faq_index : the company FAQ; without it no drafts are written.
    profiles : :func:`build_profiles` output, indexed by ``customer_id``.
    config : the ``support:`` section of ``crmlens.yaml`` (queues, target precision ...).
    as_of : the time waiting is measured to; defaults to the newest ticket's ``ts`` (deterministic).
    sentiment : scores in [-1, 1] aligned with the rows, overriding a ``sentiment`` column.

    Returns one row per ticket with the columns of ``TRIAGE_COLUMNS``; ``urgency_reasons`` is a JSON
    list. A ticket gets a draft only when the intent is confident and the FAQ has a good answer;
    otherwise ``handover_reason`` says why a person should take it.
    """
    cfg = config if isinstance(config, SupportConfig) else SupportConfig.from_mapping(config)
    frame = tickets_frame.reset_index(drop=True)
    texts = ticket_text(frame)
    n = len(frame)
    intents, conf = model.predict_with_confidence(texts) if n else (np.array([]), np.array([]))
    router = Router.from_config(cfg, _threshold(model, cfg))
    queues = router.route(list(intents), list(conf))
    automated = [q != router.human_queue for q in queues]
    languages = [detect_language(t) for t in texts]

    customer_ids = frame["customer_id"] if "customer_id" in frame.columns else pd.Series([None] * n)
    profiles = profiles if profiles is not None else pd.DataFrame()
    profile_rows: list[dict[str, Any]] = []
    for cid in customer_ids:
        if not pd.isna(cid) and cid in profiles.index:
            profile_rows.append(profiles.loc[cid].to_dict())
        else:
            profile_rows.append({})

    ts = (
        pd.to_datetime(frame["ts"], errors="coerce")
        if "ts" in frame.columns
        else pd.Series(pd.NaT, index=frame.index)
    )
    now = pd.Timestamp(as_of) if as_of is not None else ts.max()
    closed = pd.Series(False, index=frame.index)
    if "status" in frame.columns:
        closed |= frame["status"].astype("string").str.lower().isin(_CLOSED).fillna(False)
    if "resolved_at" in frame.columns:
        closed |= frame["resolved_at"].notna()
    waiting = ((now - ts).dt.total_seconds() / 3600).where(~closed)
    if sentiment is None and "sentiment" in frame.columns:
        sentiment = pd.to_numeric(frame["sentiment"], errors="coerce").tolist()
    urgency = urgency_scores(
        texts,
        intents=list(intents),
        sentiment=sentiment,
        value_tier=[p.get("value_tier") for p in profile_rows],
        waiting_hours=waiting.tolist(),
        keywords=cfg.urgent_keywords,
        intent_points=cfg.intent_urgency,
    )

    matches = faq_index.ask_many(texts, k=1) if faq_index is not None and n else [[] for _ in range(n)]
    min_score = cfg.faq_min_score if cfg.faq_min_score is not None else getattr(faq_index, "min_score", 1.0)
    rows = []
    for i in range(n):
        top = matches[i][0] if matches[i] else None
        good = top is not None and top.score >= min_score
        draft = None
        if not automated[i]:
            reason = f"intent confidence {conf[i]:.2f} below the automation threshold {router.threshold:.2f}"
        elif faq_index is None:
            reason = "no FAQ index"
        elif not good:
            reason = f"no FAQ answer scores {min_score:.2f} or more"
        else:
            reason = None
            made = draft_reply(str(intents[i]), top.answer, profile_rows[i], languages[i], top.faq_id)
            draft = made.text if made else None
        rows.append(
            {
                "ticket_id": frame["ticket_id"].iloc[i] if "ticket_id" in frame.columns else i,
                "customer_id": customer_ids.iloc[i],
                "language": languages[i],
                "intent": str(intents[i]),
                "confidence": float(conf[i]),
                "queue": queues[i],
                "automated": bool(automated[i]),
                "urgency": float(urgency.loc[i, "urgency"]),
                "urgency_level": urgency.loc[i, "urgency_level"],
                "urgency_reasons": json.dumps(urgency.loc[i, "urgency_reasons"], ensure_ascii=False),
                "faq_id": top.faq_id if good else None,
                "faq_question": top.question if good else None,
                "faq_score": float(top.score) if top is not None else np.nan,
                "draft": draft,
                "handover_reason": reason,
            }
        )
    return pd.DataFrame(rows, columns=TRIAGE_COLUMNS)
