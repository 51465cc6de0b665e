"""File mode: one CSV in, cross-validated metrics and a signed model out; then scores with reasons.

``train_file`` evaluates the whole estimator (tuning and calibration included, inside each fold) with
stratified k-fold CV, beside default LightGBM and a default logistic regression on the same folds,
then fits the final model on all rows. ``score_file`` writes score, label and reasons per row, and a
PSI drift report against the training data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.model_selection import StratifiedKFold, TimeSeriesSplit

from crmlens.exceptions import ConfigError, ValidationError
from crmlens.predict.drift import drift_report
from crmlens.predict.explain import explain_frame, global_importance, load_actions
from crmlens.predict.frame import check_column, clean_frame, encode_target, guess_id_columns, read_table
from crmlens.predict.leakage import leakage_check
from crmlens.predict.metrics import binary_metrics, calibration_table
from crmlens.predict.model import PropensityModel, default_lightgbm_scores, logistic_baseline_scores
from crmlens.predict.registry import data_hash, load_model, save_model
from crmlens.predict.tasks import get_task, label_tiers

Step = Callable[[str], None]


def prepare_file(
    path: str | Path,
    target: str,
    *,
    id_col: str | None = None,
    time_col: str | None = None,
    drop: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Read, clean and split a file into features, 0/1 target, ids and times; notes say what was done."""
    frame, notes = clean_frame(read_table(path))
    check_column(frame, target, "--target", path)
    check_column(frame, id_col, "--id-col", path)
    check_column(frame, time_col, "--time-col", path)
    for column in drop:
        check_column(frame, column, "--drop", path)
    y, positive = encode_target(frame[target], target)
    ids = frame[id_col] if id_col else None
    removed = [target, *drop]
    if id_col:
        removed.append(id_col)
    else:
        guessed = guess_id_columns(frame.drop(columns=removed))
        if guessed:
            notes.append(f"left out id-like columns (unique per row): {', '.join(map(repr, guessed))}")
            removed += guessed
            ids = frame[guessed[0]]
            id_col = guessed[0]
    times = None
    if time_col:
        times = pd.to_datetime(frame[time_col], errors="coerce", format="mixed")
        if times.isna().mean() > 0.5:
            raise ConfigError(f"--time-col {time_col!r} of {path}: most values are not dates")
        removed.append(time_col)
    X = frame.drop(columns=list(dict.fromkeys(removed)))
    return {
        "X": X,
        "y": y,
        "positive": positive,
        "ids": ids,
        "id_col": id_col,
        "times": times,
        "notes": notes,
    }


def _fit_one(
    X: pd.DataFrame, y: np.ndarray, a: np.ndarray, b: np.ndarray | None, params: dict[str, Any], seed: int
) -> tuple[PropensityModel | None, dict[str, Any] | None]:
    """Fit on rows ``a``; with test rows ``b``, return their scores and metrics (ours and the anchors)."""
    model = PropensityModel(**params).fit(X.iloc[a], y[a])
    if b is None:
        return model, None
    p = model.predict_proba(X.iloc[b])[:, 1]
    M = model.encoder_.transform(X)
    p_lgb = default_lightgbm_scores(M[a], y[a], M[b], model.encoder_.categorical_indices_, seed)
    p_lin = logistic_baseline_scores(X.iloc[a], y[a], X.iloc[b], seed)
    fold = {
        "p": p,
        "ours": binary_metrics(y[b], p, threshold=model.threshold_),
        "lightgbm_default": binary_metrics(y[b], p_lgb),
        "logistic_baseline": binary_metrics(y[b], p_lin),
    }
    return None, fold


def train_file(
    path: str | Path,
    target: str,
    *,
    id_col: str | None = None,
    time_col: str | None = None,
    model_out: str | Path | None = None,
    task: str = "propensity",
    folds: int = 5,
    drop: tuple[str, ...] = (),
    keep_leaky: bool = False,
    n_trials: int = 12,
    benefit: float | None = None,
    cost: float | None = None,
    capacity: int | None = None,
    seed: int = 0,
    n_jobs: int = -1,
    step: Step | None = None,
) -> dict[str, Any]:
    """Cross-validated metrics of ours and the anchors, then a final model saved to ``model_out``.

    ``n_jobs`` processes (-1: one per core) fit the folds and the final model; the results do not
    depend on it.
    """
    started = time.perf_counter()
    spec = get_task(task)
    if spec.kind != "binary":
        raise ConfigError(
            f"file mode trains yes/no tasks; {task!r} is a warehouse task (`crmlens train {task}`)"
        )
    data = prepare_file(path, target, id_col=id_col, time_col=time_col, drop=drop)
    X, y, notes = data["X"], data["y"], list(data["notes"])
    if min(y.sum(), len(y) - y.sum()) < folds * 2:
        raise ValidationError(
            f"--target {target!r}: too few rows of one class for {folds}-fold cross-validation"
        )
    step and step("leakage guard")
    warnings, strength = leakage_check(X, y, cutoff=data["times"], random_state=seed)
    flagged = sorted({w["column"] for w in warnings if w["column"] in X.columns})
    if flagged and not keep_leaky:
        X = X.drop(columns=flagged)
        notes.append(
            f"left out leaking columns {', '.join(map(repr, flagged))} (use --keep-leaky to keep them)"
        )
    params = {
        "n_trials": n_trials,
        "benefit": benefit,
        "cost": cost,
        "capacity": capacity,
        "random_state": seed,
    }
    if data["times"] is not None:
        order = np.argsort(data["times"].to_numpy(), kind="stable")
        splits = [(order[a], order[b]) for a, b in TimeSeriesSplit(n_splits=folds).split(order)]
        scheme = f"{folds} forward time splits on {time_col!r}"
    else:
        splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(X, y))
        scheme = f"{folds}-fold stratified CV"
    per_fold: dict[str, list[dict[str, float]]] = {
        "ours": [],
        "lightgbm_default": [],
        "logistic_baseline": [],
    }
    oof = np.full(len(y), np.nan)
    # the folds and the final fit are independent: run them side by side, one process per core
    jobs = [(a, b) for a, b in splits] + [(np.arange(len(y)), None)]
    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    results = runner(delayed(_fit_one)(X, y, a, b, params, seed) for a, b in jobs)
    model: PropensityModel | None = None
    for k, (fitted, fold) in enumerate(results):
        step and step(f"fold {k + 1}/{len(splits)}" if k < len(splits) else "final model")
        if fold is None:
            model = fitted
            continue
        b = splits[k][1]
        oof[b] = fold["p"]
        for name in per_fold:
            per_fold[name].append(fold[name])
    assert model is not None
    mean = {
        name: {m: float(np.mean([f[m] for f in rows])) for m in rows[0]} for name, rows in per_fold.items()
    }
    seen = ~np.isnan(oof)
    sample = X.iloc[np.argsort(-model.predict_proba(X)[:, 1])[:3]]
    examples = explain_frame(model, sample, outcome=f"{target}={data['positive']}")
    metrics = {
        **mean["ours"],
        "roc_auc_std": float(np.std([f["roc_auc"] for f in per_fold["ours"]])),
        "seconds": time.perf_counter() - started,
    }
    manifest = None
    if model_out:
        manifest = save_model(
            model,
            model_out,
            task=task,
            training_hash=data_hash(X, y),
            metrics=metrics,
            extra={
                "target": target,
                "positive_class": data["positive"],
                "id_col": data["id_col"],
                "source_file": Path(path).name,
                "rows": int(len(y)),
                "cv": scheme,
                "left_out": flagged if not keep_leaky else [],
                "outcome": f"{target}={data['positive']}",
            },
        )
    return {
        "metrics": metrics,
        "anchors": {k: v for k, v in mean.items() if k != "ours"},
        "cv": scheme,
        "rows": int(len(y)),
        "positive_class": data["positive"],
        "positive_rate": float(y.mean()),
        "threshold": {"value": model.threshold_, "rule": model.threshold_rule_},
        "model": model.describe(),
        "model_file": str(model_out) if model_out else None,
        "version": manifest["version"] if manifest else None,
        "leakage": warnings,
        "importance": global_importance(model),
        "calibration": calibration_table(y[seen], oof[seen]),
        "example_reasons": [
            {"row": str(i), "score": round(float(s), 4), "reasons": [r for r in (r1, r2, r3) if r]}
            for i, s, r1, r2, r3 in zip(
                sample.index,
                examples["score"],
                examples["reason_1"],
                examples["reason_2"],
                examples["reason_3"],
                strict=True,
            )
        ],
        "notes": notes,
        "per_fold": per_fold,
        "_model": model,
    }


def score_file(
    path: str | Path,
    model_path: str | Path,
    out: str | Path,
    *,
    id_col: str | None = None,
    top: int = 3,
    capacity: int | None = None,
    actions_file: str | Path | None = None,
    step: Step | None = None,
) -> dict[str, Any]:
    """Write ``id, score, label, reason_1..top, reasons`` (and ``action`` for churn) for every row of ``path``."""
    started = time.perf_counter()
    model, manifest = load_model(model_path)
    step and step("read")
    frame, _ = clean_frame(read_table(path))
    id_col = id_col or manifest.get("id_col")
    if id_col and id_col not in frame.columns and manifest.get("id_col") == id_col:
        id_col = None  # the training file's id column is absent here: number the rows instead
    check_column(frame, id_col, "--id-col", path)
    missing = [c for c in model.encoder_.features_ if c not in frame.columns]
    if missing:
        raise ValidationError(f"{path} lacks columns the model was trained on: {', '.join(missing)}")
    task = get_task(manifest.get("task", "propensity"))
    actions = load_actions(actions_file) if (actions_file or task.name == "churn") else None
    step and step("score and explain")
    explained = explain_frame(
        model, frame, top=top, outcome=manifest.get("outcome", task.outcome), actions=actions
    )
    p = explained["score"].to_numpy()
    threshold = model.threshold_
    if capacity is not None:
        threshold = float(np.sort(p)[::-1][min(capacity, len(p)) - 1])
    result = pd.DataFrame(index=frame.index)
    if id_col:
        result[id_col] = frame[id_col]
    else:
        guessed = guess_id_columns(frame)
        result["row"] = frame[guessed[0]] if guessed else np.arange(1, len(frame) + 1)
    result["score"] = p
    result["label"] = label_tiers(task, p, threshold, model.base_rate_)
    result = pd.concat([result, explained.drop(columns="score")], axis=1)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        result.to_parquet(out, index=False)
    else:
        result.to_csv(out, index=False)
    drift = drift_report(model, model._encode(frame))
    seconds = time.perf_counter() - started
    counts = result["label"].value_counts().to_dict()
    return {
        "metrics": {"rows_per_s": len(result) / max(seconds, 1e-9), "seconds": seconds},
        "rows": int(len(result)),
        "out": str(out),
        "model_version": manifest["version"],
        "threshold": threshold,
        "labels": {str(k): int(v) for k, v in counts.items()},
        "drift": drift[:10],
        "drift_warnings": [
            f"feature {d['feature']!r} drifted (PSI {d['psi']:.2f})" for d in drift if d["status"] == "drift"
        ],
    }
