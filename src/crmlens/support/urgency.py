"""Urgency: an additive 0-100 priority score whose every point has a stated reason.

Points come from five cues, each capped: risky or angry words in the message (fraud, stolen,
refund, 投诉, 退款 ...), the predicted intent, negative sentiment (when a score in [-1, 1] is
given, e.g. from the text package), the customer's value tier, and how long the ticket has
waited. An additive score is easy to explain to an agent and to tune in ``crmlens.yaml``
(``support.urgent_keywords``, ``support.intent_urgency``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmlens.text.preprocess import normalize

__all__ = ["INTENT_URGENCY", "URGENT_KEYWORDS", "urgency_level", "urgency_scores"]

# keyword (lower case; Chinese matched as a substring, English on word starts) -> points
URGENT_KEYWORDS: dict[str, float] = {
    "fraud": 30, "scam": 30, "stolen": 30, "hacked": 30, "unauthorised": 25, "unauthorized": 25,
    "chargeback": 25, "lawyer": 25, "legal action": 25, "police": 25, "compromised": 25,
    "don't recognise": 20, "don't recognize": 20, "did not make": 20, "didn't make": 20,
    "refund": 15, "complaint": 15, "cancel": 10, "urgent": 15, "asap": 10, "immediately": 10,
    "furious": 15, "unacceptable": 15, "terrible": 10, "worst": 10, "angry": 10, "still waiting": 10,
    "诈骗": 30, "欺诈": 30, "被盗": 30, "盗刷": 30, "报警": 25, "律师": 25, "起诉": 25,
    "投诉": 20, "退款": 15, "退货": 10, "取消": 10, "紧急": 15, "马上": 10, "垃圾": 10, "太差": 10, "愤怒": 15,
}  # fmt: skip

# substring of an intent name -> points
INTENT_URGENCY: dict[str, float] = {
    "stolen": 25, "compromised": 25, "fraud": 25, "lost": 20, "unauthor": 20, "not_recognised": 20,
    "declined": 10, "failed": 10, "reverted": 10, "refund": 10, "pending": 5, "cancel": 5, "complaint": 15,
}  # fmt: skip

_CAPS = {"keywords": 40.0, "intent": 25.0, "sentiment": 20.0, "value": 15.0, "waiting": 20.0}
_TIER_POINTS = {"high": 15.0, "top": 15.0, "vip": 15.0, "medium": 5.0, "mid": 5.0}


def _keyword_pattern(keywords: Mapping[str, float]) -> list[tuple[str, re.Pattern[str], float]]:
    out = []
    for word, points in keywords.items():
        w = word.lower()
        if re.search(r"[\u3400-\u9fff]", w):
            pattern = re.compile(re.escape(w))
        else:
            pattern = re.compile(r"(?<![a-z])" + re.escape(w).replace(r"\ ", r"\s+"))
        out.append((w, pattern, float(points)))
    return out


def urgency_level(score: float) -> str:
    """``low`` (< 25), ``medium`` (< 50), ``high`` (< 75) or ``critical``."""
    return "low" if score < 25 else "medium" if score < 50 else "high" if score < 75 else "critical"


def urgency_scores(
    texts: Sequence[Any],
    intents: Sequence[Any] | None = None,
    sentiment: Sequence[Any] | None = None,
    value_tier: Sequence[Any] | None = None,
    waiting_hours: Sequence[Any] | None = None,
    keywords: Mapping[str, float] | None = None,
    intent_points: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Score each message; returns ``urgency`` (0-100), ``urgency_level`` and ``urgency_reasons`` (list).

    ``keywords`` and ``intent_points`` extend (and override) the built-in tables. Keyword points are
    capped at 40 in all (here "refund" adds 10, not 15), intent at 25, sentiment and waiting at 20.

    Examples
    --------
    >>> out = urgency_scores(["My card was stolen, refund now!"], waiting_hours=[10])
    >>> float(out.loc[0, "urgency"]), out.loc[0, "urgency_reasons"]
    (45.0, ['keyword "stolen" +30', 'keyword "refund" +10', 'waiting 10h +5'])
    """
    n = len(texts)
    words = _keyword_pattern({**URGENT_KEYWORDS, **(keywords or {})})
    by_intent = {**INTENT_URGENCY, **(intent_points or {})}

    def column(values: Sequence[Any] | None) -> list[Any]:
        if values is None:
            return [None] * n
        values = list(values)
        if len(values) != n:
            raise ValueError(f"urgency: got {len(values)} values for {n} messages")
        return values

    intents_, sentiment_, tiers_, waits_ = map(column, (intents, sentiment, value_tier, waiting_hours))
    scores, levels, reasons_all = [], [], []
    for i in range(n):
        text = normalize(texts[i]).lower()
        reasons: list[str] = []
        total = 0.0

        points = 0.0
        for word, pattern, value in words:
            if points >= _CAPS["keywords"]:
                break
            if pattern.search(text):
                add = min(value, _CAPS["keywords"] - points)
                points += add
                reasons.append(f'keyword "{word}" +{add:g}')
        total += points

        intent = intents_[i]
        if isinstance(intent, str) and intent:
            hits = [(k, v) for k, v in by_intent.items() if k in intent.lower()]
            if hits:
                key, value = max(hits, key=lambda kv: kv[1])
                add = min(value, _CAPS["intent"])
                total += add
                reasons.append(f'intent "{intent}" +{add:g}')

        s = sentiment_[i]
        if s is not None and not (isinstance(s, float) and np.isnan(s)) and float(s) < 0:
            add = round(min(_CAPS["sentiment"], -float(s) * _CAPS["sentiment"]), 1)
            if add > 0:
                total += add
                reasons.append(f"negative sentiment {float(s):.2f} +{add:g}")

        tier = tiers_[i]
        if isinstance(tier, str) and tier.lower() in _TIER_POINTS:
            add = _TIER_POINTS[tier.lower()]
            total += add
            reasons.append(f"{tier.lower()}-value customer +{add:g}")

        wait = waits_[i]
        if wait is not None and not (isinstance(wait, float) and np.isnan(wait)) and float(wait) > 0:
            add = round(min(_CAPS["waiting"], float(wait) / 2), 1)
            if add >= 1:
                total += add
                reasons.append(f"waiting {float(wait):.0f}h +{add:g}")

        total = float(min(100.0, round(total, 1)))
        scores.append(total)
        levels.append(urgency_level(total))
        reasons_all.append(reasons)
    return pd.DataFrame({"urgency": scores, "urgency_level": levels, "urgency_reasons": reasons_all})
