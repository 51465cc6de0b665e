"""Data minimisation: what each task may read, which consent it needs, and the one door to clear values.

Every task of the pipeline declares the tables and columns it reads and the consent purposes
its output serves (:data:`TASKS`). Identifiers are tokens after ingest, so a task reading its
declared columns never sees a clear identifier; the only task declared to need clear values is
identity resolution (fuzzy matching of names, e-mails, phones and addresses), and it gets them
through :func:`reveal_for_task`, which refuses any other task or column, decrypts in memory from
the vault and writes an audit entry. The privacy report checks that the outputs (``customer_360``,
scores, segments, recommendations, target lists) hold no clear identifier.

Examples
--------
>>> TASKS["identity"].clear_pii
('name', 'email', 'phone', 'address', 'external_id')
>>> TASKS["churn"].purposes
('profiling',)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmlens.engine.base import Engine
from crmlens.exceptions import ValidationError
from crmlens.privacy.audit import AuditLog
from crmlens.privacy.pii import TOKEN_RE
from crmlens.privacy.pseudonymise import reveal_many

__all__ = ["TASKS", "TaskScope", "reveal_for_task", "task_columns"]

ANY = ("*",)  # every column of a derived table (its columns are features or outputs, never identifiers)


@dataclass(frozen=True)
class TaskScope:
    """What one task reads (table -> columns), writes, which consent purposes gate it, and any clear PII it needs."""

    reads: dict[str, tuple[str, ...]]
    writes: tuple[str, ...]
    purposes: tuple[str, ...] = ()
    clear_pii: tuple[str, ...] = ()
    why: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_ORDER_COLUMNS = ("customer_id", "order_id", "line_no", "ts", "product_id", "quantity", "unit_price", "amount",
                  "channel", "status", "source")  # fmt: skip

TASKS: dict[str, TaskScope] = {
    "identity": TaskScope(
        reads={
            "source_customers": (
                "source",
                "customer_key",
                "name",
                "email",
                "phone",
                "birth_date",
                "address",
                "city",
                "external_id",
                "gender",
                "country",
                "signup_at",
                "updated_at",
                "consent_marketing",
                "consent_profiling",
            ),
        },  # fmt: skip
        writes=("customer_links", "customers", "__identity_keymap", "__identity_pairs", "__identity_model"),
        clear_pii=("name", "email", "phone", "address", "external_id"),
        why="matching the same person across sources needs fuzzy comparison of names, e-mails, phones and addresses",
    ),
    "features": TaskScope(
        reads={
            "orders": _ORDER_COLUMNS,
            "events": ("customer_id", "ts", "event_type", "product_id", "session_id"),
            "feedback": ("customer_id", "ts", "rating", "channel"),
            "tickets": ("customer_id", "ts", "category", "priority", "status", "resolved_at"),
            "campaign_contacts": ("customer_id", "ts", "treatment", "responded", "revenue"),
            "customers": ("customer_id", "birth_date", "gender", "city", "signup_at"),
            "products": ("product_id", "category", "price"),
        },
        writes=("customer_360",),
    ),
    "segments": TaskScope(reads={"customer_360": ANY}, writes=("segments",), purposes=("profiling",)),
    "churn": TaskScope(
        reads={"customer_360": ANY, "orders": ("customer_id", "ts", "amount")},
        writes=("scores", "models"),
        purposes=("profiling",),
    ),
    "next_best_action": TaskScope(reads={"scores": ANY}, writes=("scores",), purposes=("marketing",)),
    "clv": TaskScope(
        reads={"orders": ("customer_id", "ts", "amount")}, writes=("scores",), purposes=("profiling",)
    ),
    "recommendations": TaskScope(
        reads={
            "orders": _ORDER_COLUMNS,
            "events": ("customer_id", "ts", "event_type", "product_id"),
            "products": ANY,
            "segments": ("customer_id", "segment", "segmentation"),
        },
        writes=("recommendations",),
        purposes=("profiling",),
    ),
    "targets": TaskScope(
        reads={"scores": ANY, "recommendations": ANY}, writes=("campaign_targets",), purposes=("marketing",)
    ),
    "text": TaskScope(
        reads={
            "feedback": (
                "feedback_id",
                "source",
                "customer_id",
                "ts",
                "channel",
                "product_id",
                "text",
                "language",
                "rating",
                "loaded_at",
            ),
            "tickets": ("ticket_id", "source", "customer_id", "ts", "subject", "body", "loaded_at"),
            "products": ("product_id", "category"),
        },
        writes=("text_sentiment", "feedback_sentiment", "feedback_topics", "sentiment_alerts"),
        extra={"text": "scrubbed of PII at ingest"},
    ),
    "support": TaskScope(
        reads={
            "tickets": ("ticket_id", "customer_id", "ts", "subject", "body", "category", "priority", "status")
        },
        writes=("ticket_triage",),
        extra={"text": "scrubbed of PII at ingest"},
    ),
}


def task_columns(task: str) -> dict[str, tuple[str, ...]]:
    """The declared reads of ``task``; an unknown task is an error (nothing is readable by default)."""
    try:
        return TASKS[task].reads
    except KeyError:
        raise ValidationError(
            f"minimisation: task {task!r} declares no inputs; known tasks: {sorted(TASKS)}"
        ) from None


def reveal_for_task(
    engine: Engine,
    frame: pd.DataFrame,
    columns: Sequence[str],
    vault_key: str | bytes,
    task: str,
    *,
    audit: AuditLog | None = None,
) -> tuple[pd.DataFrame, int]:
    """A copy of ``frame`` with the tokens in ``columns`` replaced by their clear values from the vault.

    Only a task that declares those columns in ``clear_pii`` may call it; the clear values live
    in the returned frame alone (memory), and an audit entry records who read how many. Returns
    the frame and the number of distinct values revealed; tokens absent from the vault stay tokens.
    """
    scope = TASKS.get(task)
    if scope is None:
        raise ValidationError(f"minimisation: task {task!r} is not declared (crmlens.privacy.minimise.TASKS)")
    refused = [c for c in columns if c not in scope.clear_pii]
    if refused:
        raise ValidationError(
            f"minimisation: task {task!r} may not read clear {', '.join(refused)}; only identity resolution "
            "is declared to (crmlens.privacy.minimise.TASKS)"
        )
    present = [c for c in columns if c in frame.columns]
    tokens = {v for c in present for v in frame[c].dropna().astype(str) if TOKEN_RE.match(v)}
    clear = reveal_many(engine, tokens, vault_key)
    out = frame.copy()
    for column in present:
        out[column] = out[column].map(lambda v: clear.get(v, v) if isinstance(v, str) else v)
    (audit or AuditLog(engine)).append(
        task,
        "pii.reveal",
        target=",".join(sorted(scope.reads)),
        purpose=scope.why,
        details={"columns": present, "values": len(clear), "tokens_not_in_vault": len(tokens) - len(clear)},
    )
    return out, len(clear)
