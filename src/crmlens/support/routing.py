"""Routing: intent to queue, and the confidence threshold below which a person decides.

The threshold is chosen on held-out predictions (out-of-fold in training) so that the messages
handled automatically meet a target precision; everything below it goes to the human triage
queue. The share above it is the automation rate at that precision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crmlens.exceptions import ConfigError

__all__ = ["Router", "SupportConfig", "automation_at_precision", "threshold_for_precision"]


def threshold_for_precision(
    confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray, target: float = 0.95
) -> tuple[float, float, float]:
    """The lowest confidence cut whose accepted predictions reach ``target`` precision.

    Returns ``(threshold, automation_rate, precision)`` measured on the given predictions. When no
    cut reaches the target the threshold is above 1 (nothing automated) and the rate is 0.

    Examples
    --------
    >>> threshold_for_precision([0.9, 0.8, 0.7, 0.6], [True, True, False, True], target=0.95)
    (0.8, 0.5, 1.0)
    """
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    if conf.shape != ok.shape:
        raise ValueError("confidence and correct must have the same length")
    if not 0 < target <= 1:
        raise ConfigError(f"target precision must be in (0, 1], got {target}")
    if conf.size == 0:
        return 1.01, 0.0, float("nan")
    order = np.argsort(-conf, kind="stable")
    conf, ok = conf[order], ok[order]
    precision = np.cumsum(ok) / np.arange(1, conf.size + 1)
    # a cut can only fall where the confidence changes: the last index of each tie group
    last_of_tie = np.r_[conf[1:] != conf[:-1], True]
    good = np.flatnonzero(last_of_tie & (precision >= target - 1e-12))
    if good.size == 0:
        return 1.01, 0.0, float("nan")
    k = good[-1]
    return float(conf[k]), float((k + 1) / conf.size), float(precision[k])


def automation_at_precision(
    confidence: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    threshold: float,
) -> tuple[float, float]:
    """Share of messages at or above ``threshold`` and the precision among them (NaN if none)."""
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    accepted = conf >= threshold
    rate = float(accepted.mean()) if conf.size else 0.0
    precision = float(ok[accepted].mean()) if accepted.any() else float("nan")
    return rate, precision


class SupportConfig(BaseModel):
    """The ``support:`` section of ``crmlens.yaml``.

    ``queues`` maps an intent to a queue (intents not listed go to ``default_queue``); ``faq`` is
    the company FAQ file (CSV or Parquet: question, answer[, language][, faq_id]);
    ``target_precision`` sets the automation threshold; ``faq_min_score`` is the score under which
    the FAQ says it has no good answer; ``urgent_keywords`` and ``intent_urgency`` add to the
    built-in urgency cues (keyword or intent substring to points).
    """

    model_config = ConfigDict(extra="forbid")

    queues: dict[str, str] = Field(default_factory=dict)
    default_queue: str = "general"
    human_queue: str = "human_triage"
    target_precision: float = Field(0.95, gt=0, le=1)
    faq_min_score: float | None = None
    faq: str | None = None
    urgent_keywords: dict[str, float] = Field(default_factory=dict)
    intent_urgency: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, origin: str = "crmlens.yaml") -> SupportConfig:
        """Validate the section; a bad key becomes a :class:`ConfigError` naming ``support.<key>``."""
        try:
            return cls.model_validate(dict(data or {}))
        except ValidationError as exc:
            parts = []
            for error in exc.errors():
                key = ".".join(str(p) for p in ("support", *error["loc"]))
                parts.append(f"{key}: {error['msg']}")
            raise ConfigError(f"{origin}: " + "; ".join(parts)) from None


@dataclass
class Router:
    """Sends confident predictions to their intent's queue and the rest to people."""

    queues: Mapping[str, str] = field(default_factory=dict)
    threshold: float = 0.0
    default_queue: str = "general"
    human_queue: str = "human_triage"

    @classmethod
    def from_config(cls, config: SupportConfig, threshold: float) -> Router:
        return cls(dict(config.queues), threshold, config.default_queue, config.human_queue)

    def queue_of(self, intent: str) -> str:
        return self.queues.get(intent, self.default_queue)

    def route(self, intents: Sequence[str], confidences: Sequence[float]) -> list[str]:
        """The queue of each message: its intent's queue when confident enough, else the human queue."""
        return [
            self.queue_of(str(i)) if float(c) >= self.threshold else self.human_queue
            for i, c in zip(intents, confidences, strict=True)
        ]
