"""Tasks as presets of one engine, and warehouse mode: labels by SQL from ``orders``, as of a cutoff.

Features come from ``customer_360`` (``customer_id``, ``as_of``, feature columns), built by the features
stage with the same as-of discipline; labels come from what happened in the ``horizon_days`` after
``as_of``. With several ``as_of`` snapshots the test set is the latest one and the model learns from the
earlier ones (a time-based split); with one snapshot it falls back to a stratified hold-out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from crmlens.engine.base import Engine
from crmlens.exceptions import ConfigError, NotFittedError, ValidationError
from crmlens.predict.drift import drift_report
from crmlens.predict.explain import explain_frame, load_actions
from crmlens.predict.metrics import binary_metrics, calibration_table, decile_table, regression_metrics
from crmlens.predict.model import (
    PropensityModel,
    SpendModel,
    default_lightgbm_scores,
    logistic_baseline_scores,
)


@dataclass(frozen=True)
class Task:
    name: str
    kind: str  # "binary" or "regression"
    labels: tuple[str, str, str]  # above the threshold, above the base rate, the rest
    outcome: str  # how reason sentences name the positive class
    description: str


TASKS: dict[str, Task] = {
    "churn": Task(
        "churn",
        "binary",
        ("at_risk", "watch", "safe"),
        "churn",
        "no purchase in the H days after as_of, among customers who bought in the 365 days before",
    ),
    "lead_conversion": Task("lead_conversion", "binary", ("hot", "warm", "cold"), "convert", "lead converts"),
    "response": Task(
        "response",
        "binary",
        ("likely", "possible", "unlikely"),
        "respond",
        "contacted customer responds to a campaign in the H days after as_of",
    ),
    "credit_default": Task(
        "credit_default",
        "binary",
        ("high_risk", "medium_risk", "low_risk"),
        "default",
        "client defaults on the next payment",
    ),
    "purchase": Task(
        "purchase",
        "binary",
        ("likely", "possible", "unlikely"),
        "buy",
        "buys the given category in the H days after as_of",
    ),
    "spend": Task(
        "spend", "regression", ("high", "medium", "low"), "spend", "revenue in the H days after as_of"
    ),
    "propensity": Task("propensity", "binary", ("high", "medium", "low"), "positive", "any yes/no column"),
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}")
    return TASKS[name]


def label_tiers(task: Task, p: np.ndarray, threshold: float, base_rate: float) -> np.ndarray:
    """High tier at or above the decision threshold, middle tier above the base rate, low tier below."""
    high, mid, low = task.labels
    return np.where(p >= threshold, high, np.where(p >= base_rate, mid, low))


_ACTIVE = """
    active AS (
        SELECT DISTINCT customer_id FROM orders
        WHERE customer_id IS NOT NULL
          AND ts >  CAST($as_of AS TIMESTAMP) - INTERVAL 365 DAY
          AND ts <= CAST($as_of AS TIMESTAMP)
    )"""

_LABEL_SQL = {
    "churn": "WITH"
    + _ACTIVE
    + """,
    later AS (
        SELECT DISTINCT customer_id FROM orders
        WHERE ts > CAST($as_of AS TIMESTAMP) AND ts <= CAST($as_of AS TIMESTAMP) + to_days(CAST($h AS INTEGER))
    )
    SELECT a.customer_id, CASE WHEN l.customer_id IS NULL THEN 1 ELSE 0 END AS label
    FROM active a LEFT JOIN later l USING (customer_id)""",
    "spend": "WITH"
    + _ACTIVE
    + """,
    later AS (
        SELECT customer_id, sum(amount) AS revenue FROM orders
        WHERE ts > CAST($as_of AS TIMESTAMP) AND ts <= CAST($as_of AS TIMESTAMP) + to_days(CAST($h AS INTEGER))
        GROUP BY customer_id
    )
    SELECT a.customer_id, coalesce(l.revenue, 0.0) AS label FROM active a LEFT JOIN later l USING (customer_id)""",
    "purchase": "WITH"
    + _ACTIVE
    + """,
    later AS (
        SELECT DISTINCT o.customer_id FROM orders o JOIN products p USING (product_id)
        WHERE o.ts > CAST($as_of AS TIMESTAMP) AND o.ts <= CAST($as_of AS TIMESTAMP) + to_days(CAST($h AS INTEGER))
          AND p.category = $category
    )
    SELECT a.customer_id, CASE WHEN l.customer_id IS NULL THEN 0 ELSE 1 END AS label
    FROM active a LEFT JOIN later l USING (customer_id)""",
    "response": """
    SELECT customer_id, max(CASE WHEN responded THEN 1 ELSE 0 END) AS label FROM campaign_contacts
    WHERE customer_id IS NOT NULL AND treatment = 1
      AND ts > CAST($as_of AS TIMESTAMP) AND ts <= CAST($as_of AS TIMESTAMP) + to_days(CAST($h AS INTEGER))
    GROUP BY customer_id""",
}


def _require_tables(engine: Engine, *names: str) -> None:
    missing = [n for n in names if not engine.has_table(n)]
    if missing:
        raise NotFittedError(
            f"warehouse has no table {', '.join(missing)}; run `crmlens ingest` and `crmlens build` first"
        )


def build_labels(
    engine: Engine, task: str, as_of: date | str, horizon_days: int, category: str | None = None
) -> pd.DataFrame:
    """``customer_id, label`` for ``task`` as of ``as_of``, from what happened in the next ``horizon_days``."""
    get_task(task)
    if task not in _LABEL_SQL:
        raise ConfigError(f"task {task!r} has no warehouse label; use file mode (`crmlens propensity train`)")
    if task == "purchase" and not category:
        raise ConfigError("task 'purchase' needs --category (the product category to predict)")
    _require_tables(engine, "campaign_contacts" if task == "response" else "orders")
    params: dict[str, Any] = {"as_of": str(as_of), "h": int(horizon_days)}
    if task == "purchase":
        params["category"] = category
    return engine.query(_LABEL_SQL[task], params).to_pandas()


def _snapshot(engine: Engine, as_of: Any, table: str) -> pd.DataFrame:
    frame = engine.query(
        f'SELECT * FROM "{table}" WHERE CAST(as_of AS DATE) = CAST($as_of AS DATE)', {"as_of": str(as_of)}
    ).to_pandas()
    return frame


def _labelled(engine: Engine, task: str, as_of: Any, horizon_days: int, table: str, category: str | None):
    features = _snapshot(engine, as_of, table)
    labels = build_labels(engine, task, as_of, horizon_days, category)
    frame = features.merge(labels, on="customer_id", how="inner")
    return frame


def _features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in ("customer_id", "as_of", "label") if c in frame.columns])


def train_task(
    engine: Engine,
    task: str,
    as_of: date | str,
    horizon_days: int = 90,
    *,
    features_table: str = "customer_360",
    category: str | None = None,
    registry: Any = None,
    n_trials: int = 12,
    seed: int = 0,
    consent: bool = True,
) -> dict[str, Any]:
    """Train ``task`` on the warehouse; returns metrics (ours and anchors on the same test), the model, its manifest.

    The labels need ``horizon_days`` of orders after ``as_of``: pick an ``as_of`` at least that far
    before the last order. Earlier snapshots of ``features_table`` (``as_of`` minus k x horizon) are
    used for training when present, and the test is then the ``as_of`` snapshot. Training is
    profiling: with ``consent`` (the default) customers without profiling consent are left out of
    every snapshot.
    """
    from crmlens.privacy.consent import enforce_consent

    spec = get_task(task)
    _require_tables(engine, features_table)
    last = engine.query("SELECT max(ts) FROM orders").scalar() if engine.has_table("orders") else None
    as_of_ts = pd.Timestamp(as_of)
    if (
        last is not None
        and task != "response"
        and as_of_ts + timedelta(days=horizon_days) > pd.Timestamp(last)
    ):
        raise ValidationError(
            f"as_of {as_of_ts.date()} + {horizon_days} days is after the last order ({pd.Timestamp(last).date()}); "
            "labels would be incomplete: choose an earlier --as-of or a shorter --horizon-days"
        )
    test = _labelled(engine, task, as_of, horizon_days, features_table, category)
    test = enforce_consent(engine, test, "profiling", f"{task} training", enforce=consent)
    if test.empty:
        raise ValidationError(
            f"no labelled customers in {features_table} as of {as_of_ts.date()}; "
            "check that customer_360 was built for this as_of"
        )
    dates = engine.query(
        f'SELECT DISTINCT CAST(as_of AS DATE) AS d FROM "{features_table}" ORDER BY d'
    ).to_pandas()
    earlier = [d for d in pd.to_datetime(dates["d"]) if d + timedelta(days=horizon_days) <= as_of_ts]
    train_parts = [
        enforce_consent(
            engine, _labelled(engine, task, d.date(), horizon_days, features_table, category), "profiling",
            f"{task} training", enforce=consent, log=False,
        )
        for d in earlier
    ]  # fmt: skip
    train = (
        pd.concat([p for p in train_parts if not p.empty], ignore_index=True)
        if train_parts
        else pd.DataFrame()
    )
    if len(train) >= 50:
        split = "time"
    else:
        split = "stratified" if spec.kind == "binary" else "random"
        strat = test["label"] if spec.kind == "binary" else None
        train, test = train_test_split(test, test_size=0.25, random_state=seed, stratify=strat)
    X_tr, y_tr, X_te, y_te = (
        _features(train),
        train["label"].to_numpy(),
        _features(test),
        test["label"].to_numpy(),
    )
    model: PropensityModel | SpendModel
    if spec.kind == "binary":
        model = PropensityModel(n_trials=n_trials, random_state=seed).fit(X_tr, y_tr)
        p = model.predict_proba(X_te)[:, 1]
        metrics = binary_metrics(y_te, p, threshold=model.threshold_)
        M_tr, M_te = model.encoder_.transform(X_tr), model.encoder_.transform(X_te)
        anchors = {
            "lightgbm_default": binary_metrics(
                y_te, default_lightgbm_scores(M_tr, y_tr, M_te, model.encoder_.categorical_indices_, seed)
            ),
            "logistic_baseline": binary_metrics(y_te, logistic_baseline_scores(X_tr, y_tr, X_te, seed)),
        }
        extra = {"calibration": calibration_table(y_te, p)}
    else:
        model = SpendModel(n_trials=n_trials, random_state=seed).fit(X_tr, y_tr)
        pred = model.predict(X_te)
        metrics = regression_metrics(y_te, pred)
        anchors = {"mean_baseline": regression_metrics(y_te, np.full(len(y_te), y_tr.mean()))}
        extra = {"deciles": decile_table(y_te, pred)}
    manifest = None
    if registry is not None:
        from crmlens.predict.registry import data_hash

        manifest = registry.save(
            model,
            task,
            training_hash=data_hash(X_tr, y_tr),
            metrics=metrics,
            extra={
                "as_of": str(as_of_ts.date()),
                "horizon_days": horizon_days,
                "split": split,
                "outcome": spec.outcome,
            },
        )
    return {
        "metrics": metrics,
        "anchors": anchors,
        "split": split,
        "rows_train": int(len(X_tr)),
        "rows_test": int(len(X_te)),
        "positive_rate": float(np.mean(y_te)) if spec.kind == "binary" else None,
        "model": model,
        "manifest": manifest,
        **extra,
    }


def score_task(
    engine: Engine,
    task: str,
    model: Any,
    model_version: str,
    *,
    as_of: date | str | None = None,
    features_table: str = "customer_360",
    actions: dict[str, str] | None = None,
    top: int = 3,
    consent: bool = True,
) -> dict[str, Any]:
    """Score every customer of the ``as_of`` snapshot (the latest by default) into ``scores``.

    Replaces the rows of this task in ``scores`` in one transaction; ``reasons`` is a JSON object
    ``{"reasons": [{feature, contribution, text}], "action": ...}`` (action for churn). Returns counts and a
    PSI drift report against the training data. With ``consent`` (the default) only customers with
    profiling consent are scored, and the suggested action (a next best action, i.e. marketing)
    is withheld for those without marketing consent.
    """
    from crmlens.privacy.consent import enforce_consent

    spec = get_task(task)
    _require_tables(engine, features_table)
    if as_of is None:
        as_of = engine.query(f'SELECT max(CAST(as_of AS DATE)) FROM "{features_table}"').scalar()
    frame = _snapshot(engine, as_of, features_table)
    if frame.empty:
        raise ValidationError(f"{features_table} has no rows as of {as_of}")
    frame = enforce_consent(engine, frame, "profiling", f"{task} scoring", enforce=consent).reset_index(
        drop=True
    )
    if frame.empty:
        raise ValidationError(f"no customer of {features_table} as of {as_of} has consented to profiling")
    X = _features(frame)
    if task == "churn" and actions is None:
        actions = load_actions(None)
    explained = explain_frame(model, X, top=top, outcome=spec.outcome, actions=actions)
    if spec.kind == "binary":
        labels = label_tiers(spec, explained["score"].to_numpy(), model.threshold_, model.base_rate_)
    else:
        q = np.quantile(explained["score"], [0.5, 0.9])
        labels = np.where(
            explained["score"] >= q[1], "high", np.where(explained["score"] >= q[0], "medium", "low")
        )
    suggested = list(explained.get("action", [None] * len(explained)))
    if actions is not None:  # a suggested action is a next best action: marketing consent only
        reachable = enforce_consent(
            engine, frame[["customer_id"]], "marketing", "next best action", enforce=consent
        )
        allowed = np.zeros(len(frame), dtype=bool)
        allowed[reachable.index.to_numpy()] = True
        suggested = [a if ok else None for a, ok in zip(suggested, allowed, strict=True)]
    reasons = [
        json.dumps(
            {"reasons": json.loads(r), **({"action": a} if actions is not None else {})}, ensure_ascii=False
        )
        for r, a in zip(explained["reasons"], suggested, strict=True)
    ]
    out = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy(),
            "task": task,
            "model_version": model_version,
            "score": explained["score"].to_numpy(),
            "label": labels,
            "reasons": reasons,
            "scored_at": datetime.now(UTC).replace(tzinfo=None),
        }
    )
    from crmlens.schema import DERIVED_DDL

    with engine.transaction():
        engine.execute(DERIVED_DDL["scores"])
        engine.execute("DELETE FROM scores WHERE task = $task", {"task": task})
        engine.register("_predict_scores", out)
        engine.execute(
            "INSERT INTO scores SELECT customer_id, task, model_version, score, label, "
            "CAST(reasons AS JSON), scored_at FROM _predict_scores"
        )
    drift = drift_report(model, model._encode(X))
    return {
        "rows": int(len(out)),
        "as_of": str(as_of),
        "drift": drift,
        "drifted": [d["feature"] for d in drift if d["status"] == "drift"],
    }


def target_list(
    engine: Engine,
    task: str = "churn",
    labels: tuple[str, ...] | None = None,
    capacity: int | None = None,
    *,
    consent: bool = True,
) -> pd.DataFrame:
    """The customers to contact for ``task``: its top tier (or ``labels``), highest scores first, with the action.

    A target list is marketing: with ``consent`` (the default) customers without marketing
    consent never appear. ``capacity`` keeps the first N. Columns: ``customer_id, score, label, action``.
    """
    from crmlens.privacy.consent import enforce_consent

    spec = get_task(task)
    _require_tables(engine, "scores")
    wanted = list(labels or spec.labels[:1])
    frame = engine.query(
        "SELECT customer_id, score, label, json_extract_string(reasons, '$.action') AS action FROM scores "
        "WHERE task = $task AND list_contains($labels, label) ORDER BY score DESC, customer_id",
        {"task": task, "labels": wanted},
    ).to_pandas()
    frame = enforce_consent(engine, frame, "marketing", f"{task} target list", enforce=consent)
    if capacity is not None:
        frame = frame.head(int(capacity))
    return frame.reset_index(drop=True)
