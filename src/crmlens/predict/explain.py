"""Why a score is high: global importance and per-row reason codes as sentences, with suggested actions.

Contributions are exact and additive on the logit (TreeSHAP from LightGBM's ``pred_contrib`` plus the
logistic model's centred terms), so a row's reasons are its largest positive contributions. Sentences
for categories are prepared once per level, so a million rows cost a lookup and a few string joins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from string import Formatter
from typing import Any

import numpy as np
import pandas as pd

from crmlens.exceptions import ConfigError

# Sentences for well-known customer_360 columns; {value} is the row's value, any other name a feature of
# the same row, {median} the training median. A tuple lists alternatives: the first whose fields the
# model has and the row holds (not missing) is used. Users pass their own with ``templates=``.
_LAST_ORDER = (
    "no purchase for {value:.0f} days, usually every {ipd_mean_days:.0f}",
    "no purchase for {value:.0f} days, usually every {avg_days_between_orders:.0f}",
    "no purchase for {value:.0f} days (usual {median:.0f})",
)
DEFAULT_TEMPLATES: dict[str, str | tuple[str, ...]] = {
    "recency_days": _LAST_ORDER,
    "days_since_last_order": _LAST_ORDER,
    "days_since_last_visit": "no visit for {value:.0f} days (usual {median:.0f})",
    "frequency": "{value:.0f} orders, against a usual {median:.0f}",
    "n_orders": "{value:.0f} orders, against a usual {median:.0f}",
    "orders_90d": "{value:.0f} orders in the last 90 days (usual {median:.0f})",
    "spend_90d": "spent {value:,.0f} in the last 90 days (usual {median:,.0f})",
    "n_tickets": "{value:.0f} support tickets (usual {median:.0f})",
    "tickets_90d": "{value:.0f} support tickets in the last 90 days (usual {median:.0f})",
    "tenure": "{value:.0f} months as a customer (usual {median:.0f})",
}

# Churn reason -> retention action, first matching pattern wins; edit with a JSON file of the same shape.
DEFAULT_ACTIONS: dict[str, str] = {
    r"contract": "offer a discounted 12-month contract",
    r"recency|days_since|last_order|inactive": "send a win-back offer with a personal discount",
    r"ticket|support|complain|techsupport": "priority call from a senior support agent",
    r"charge|price|amount|bill|monetary|spend": "review the plan price; offer a loyalty discount",
    r"tenure|signup|age_days": "onboarding call to get the customer to first value",
    r"payment": "suggest automatic payment with a small credit",
    r"sentiment|rating|review|nps": "follow up on the negative feedback personally",
    r"frequency|n_orders|orders": "targeted reminder with products they usually buy",
    r"security|backup|protection|streaming|service": "free trial of an add-on service",
}
FALLBACK_ACTION = "call from the retention team"
# "1 months as a customer" -> "1 month as a customer": the templates count in plural.
_SINGULAR = re.compile(r"(?<![\d.,])(1) (day|month|order|visit|support ticket)s\b")
# Rows x trees above which ``method="auto"`` uses path attribution instead of TreeSHAP: TreeSHAP costs
# about eight times as much per tree and row, so this keeps exact Shapley reasons to a few seconds.
SHAP_BUDGET = 20_000_000


def attribution_method(model: Any, rows: int) -> str:
    """``shap`` while ``rows`` times the model's trees stays within :data:`SHAP_BUDGET`, else ``path``."""
    return "shap" if rows * max(1, getattr(model, "n_rounds_", 1)) <= SHAP_BUDGET else "path"


def load_actions(path: str | Path | None) -> dict[str, str]:
    """Reason-to-action map from a JSON (or YAML) file ``{"regex on feature name": "action"}``."""
    if path is None:
        return dict(DEFAULT_ACTIONS)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in {".yaml", ".yml"}:
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"--actions {path}: cannot read it ({exc}); give a JSON object pattern -> action"
        ) from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError(
            f"--actions {path}: must be an object mapping a feature-name pattern to an action text"
        )
    for pattern in data:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"--actions {path}: pattern {pattern!r} is not a valid regex ({exc})") from exc
    return data


@lru_cache(maxsize=256)
def _fields(template: str) -> tuple[str, ...]:
    """The field names a format string reads."""
    return tuple(f for _, f, _, _ in Formatter().parse(template) if f)


def _fmt(value: float) -> str:
    if np.isnan(value):
        return "missing"
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}"


class ReasonWriter:
    """Turns contributions of one fitted model into sentences; built once, applied to many rows."""

    def __init__(
        self,
        model: Any,
        outcome: str = "positive",
        templates: Mapping[str, str | tuple[str, ...]] | None = None,
    ) -> None:
        self.model = model
        self.encoder = model.encoder_
        self.features = list(self.encoder.features_)
        self.profile = model.train_profile_
        self.outcome = outcome
        self.templates = {**DEFAULT_TEMPLATES, **(templates or {})}
        base = getattr(model, "base_rate_", None)
        self._category_text: dict[int, dict[int, str]] = {}
        for j, name in enumerate(self.features):
            if name not in self.encoder.categorical_:
                continue
            entry = self.profile[name]
            texts = {}
            for code in range(len(self.encoder.categorical_[name]) + 1):
                level = self.encoder.level(name, float(code))
                rate = entry.get("rate", {}).get(code)
                extra = f" ({rate:.0%} {outcome} vs {base:.0%} overall)" if rate is not None and base else ""
                texts[code] = f"{name} is {level}{extra}"
            rate = entry.get("rate", {}).get(-1)
            extra = f" ({rate:.0%} {outcome} vs {base:.0%} overall)" if rate is not None and base else ""
            texts[-1] = f"{name} is missing{extra}"
            self._category_text[j] = texts

    def sentence(self, j: int, M_row: np.ndarray) -> str:
        name = self.features[j]
        value = float(M_row[j])
        if j in self._category_text:
            code = -1 if np.isnan(value) else int(value)
            return self._category_text[j].get(code, f"{name} is other")
        median = self.profile[name].get("median", float("nan"))
        template = self.templates.get(name)
        if template and not np.isnan(value):
            row = {
                f: float(M_row[i]) for i, f in enumerate(self.features) if f not in self.encoder.categorical_
            }
            fields = {**row, "value": value, "median": median}
            for option in (template,) if isinstance(template, str) else template:
                if any(f not in fields or np.isnan(fields[f]) for f in _fields(option)):
                    continue  # a field the model lacks, or missing in this row: try the next wording
                try:
                    return _SINGULAR.sub(r"\1 \2", option.format(**fields))
                except (KeyError, ValueError, IndexError):
                    continue
        if np.isnan(value):
            return f"{name} is missing"
        side = "above" if value > median else "below" if value < median else "at"
        return f"{name} is {_fmt(value)}, {side} the usual {_fmt(median)}"

    def texts(self, j: int, M: np.ndarray) -> list[str]:
        """Sentences for feature ``j`` of many rows at once (a lookup for categories)."""
        name = self.features[j]
        values = M[:, j].astype(np.float64)
        if j in self._category_text:
            table = self._category_text[j]
            codes = np.where(np.isnan(values), -1, values).astype(np.int64)
            return [table.get(c, f"{name} is other") for c in codes.tolist()]
        if name in self.templates:
            return [self.sentence(j, row) for row in M]
        median = self.profile[name].get("median", float("nan"))
        med = _fmt(median)
        out = []
        for v in values.tolist():
            if v != v:
                out.append(f"{name} is missing")
            else:
                side = "above" if v > median else "below" if v < median else "at"
                out.append(f"{name} is {_fmt(v)}, {side} the usual {med}")
        return out

    def top_reasons(
        self, M: np.ndarray, phi: np.ndarray, top: int = 3
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Feature index, contribution and sentence of each row's ``top`` largest positive contributions.

        Ranks without a positive contribution get index -1 and an empty sentence.
        """
        n, p = phi.shape
        k = min(top, p)
        idx = np.argpartition(-phi, kth=k - 1, axis=1)[:, :k] if p > k else np.tile(np.arange(p), (n, 1))
        rows = np.arange(n)[:, None]
        idx = idx[rows, np.argsort(-phi[rows, idx], axis=1)]
        contrib = phi[rows, idx]
        texts = np.full((n, k), "", dtype=object)
        for r in range(k):
            for j in np.unique(idx[:, r]):
                sel = np.flatnonzero((idx[:, r] == j) & (contrib[:, r] > 0))
                if sel.size:
                    texts[sel, r] = self.texts(int(j), M[sel])
        idx = np.where(contrib > 0, idx, -1)
        return idx, contrib, texts

    def explain(self, M: np.ndarray, phi: np.ndarray, top: int = 3) -> list[list[dict[str, Any]]]:
        """For each row, up to ``top`` reasons (feature, value, contribution, text), strongest first."""
        idx, contrib, texts = self.top_reasons(M, phi, top)
        return [
            [
                {"feature": self.features[j], "contribution": round(float(c), 4), "text": t}
                for j, c, t in zip(ji, ci, ti, strict=True)
                if j >= 0
            ]
            for ji, ci, ti in zip(idx.tolist(), contrib.tolist(), texts.tolist(), strict=True)
        ]


def _action_of(feature: str, actions: Mapping[str, str]) -> str | None:
    for pattern, action in actions.items():
        if re.search(pattern, feature, flags=re.IGNORECASE):
            return action
    return None


def suggest_action(
    reasons: Sequence[Mapping[str, Any]],
    actions: Mapping[str, str],
    cache: dict[str, str | None] | None = None,
) -> str:
    """The action of the first reason whose feature name matches a pattern of ``actions``."""
    cache = {} if cache is None else cache
    for reason in reasons:
        feature = str(reason["feature"])
        if feature not in cache:
            cache[feature] = _action_of(feature, actions)
        if cache[feature]:
            return cache[feature]
    return FALLBACK_ACTION


def explain_frame(
    model: Any,
    X: pd.DataFrame,
    *,
    top: int = 3,
    outcome: str = "positive",
    templates: Mapping[str, str | tuple[str, ...]] | None = None,
    actions: Mapping[str, str] | None = None,
    batch_size: int = 200_000,
    method: str = "auto",
) -> pd.DataFrame:
    """Score, reason sentences (``reason_1..top``), ``reasons`` as JSON and, with ``actions``, ``action``.

    Contributions are computed in batches; the output's strings take most of the memory (about 1.6 GB
    more for a million rows with three reasons). ``method``: ``shap`` (exact TreeSHAP), ``path``
    (per-leaf path attribution, about eight times faster) or ``auto`` (:func:`attribution_method`).
    """
    if method not in {"auto", "shap", "path"}:
        raise ConfigError(f"method={method!r}; choose auto, shap or path")
    how = attribution_method(model, len(X)) if method == "auto" else method
    writer = ReasonWriter(model, outcome=outcome, templates=templates)
    M_all = model._encode(X)
    feature_json = [json.dumps(f, ensure_ascii=False) for f in writer.features]
    action_of = [(_action_of(f, actions) if actions is not None else None) for f in writer.features]
    scores = np.empty(len(X))
    texts_all, json_all, actions_all = [], [], []
    for start in range(0, len(X), batch_size):
        M = M_all[start : start + batch_size]
        phi, total = model._contributions_matrix(M, method=how)
        calibrator = getattr(model, "calibrator_", None)
        scores[start : start + len(M)] = calibrator(total) if calibrator is not None else total
        idx, contrib, texts = writer.top_reasons(M, phi, top=top)
        texts_all.append(texts)
        items = []
        for r in range(idx.shape[1]):
            items.append(
                [
                    ""
                    if j < 0
                    else f'{{"feature": {feature_json[j]}, "contribution": {c:.4f}, "text": '
                    f"{json.dumps(t, ensure_ascii=False)}}}"
                    for j, c, t in zip(
                        idx[:, r].tolist(), contrib[:, r].tolist(), texts[:, r].tolist(), strict=True
                    )
                ]
            )
        json_all.extend("[" + ", ".join(x for x in row if x) + "]" for row in zip(*items, strict=True))
        if actions is not None:
            for row in idx.tolist():
                actions_all.append(
                    next((action_of[j] for j in row if j >= 0 and action_of[j]), FALLBACK_ACTION)
                )
    texts = np.vstack(texts_all) if texts_all else np.empty((0, top), dtype=object)
    out = pd.DataFrame({"score": scores}, index=X.index)
    for r in range(top):
        out[f"reason_{r + 1}"] = texts[:, r] if r < texts.shape[1] else ""
    out["reasons"] = json_all
    if actions is not None:
        out["action"] = actions_all
    return out


def global_importance(model: Any, X: pd.DataFrame | None = None, top: int = 15) -> list[dict[str, Any]]:
    """Mean absolute contribution per feature (SHAP importance), largest first."""
    frame = model.feature_importance(X).head(top)
    return [
        {"feature": f, "importance": round(float(v), 4)}
        for f, v in zip(frame.feature, frame.importance, strict=True)
    ]
