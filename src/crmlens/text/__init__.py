"""Text analytics: language, tokens, sentiment, keywords and aspects, topics, trends and alerts.

The warehouse calls :func:`annotate` on ``feedback`` / ``tickets`` and :func:`sentiment_features`
for ``customer_360``; file mode is ``crmlens sentiment ...`` and ``crmlens text ...``.
"""

from crmlens.text.ensemble import StackedSentiment
from crmlens.text.keywords import (
    ASPECT_TERMS,
    aspect_sentiment,
    aspect_summary,
    extract_keywords,
    top_keywords,
)
from crmlens.text.pipeline import annotate, sentiment_features
from crmlens.text.preprocess import add_user_words, detect_language, load_user_dict, normalize, tokenize
from crmlens.text.sentiment import (
    LABELS,
    MultilingualSentiment,
    SentimentClassifier,
    canonical_labels,
    default_model,
    load_model,
)
from crmlens.text.topics import TopicModel, Topics, discover_topics
from crmlens.text.training import ensemble_model
from crmlens.text.trends import sentiment_alerts, sentiment_trend

__all__ = [
    "ASPECT_TERMS",
    "LABELS",
    "MultilingualSentiment",
    "SentimentClassifier",
    "StackedSentiment",
    "TopicModel",
    "Topics",
    "add_user_words",
    "annotate",
    "aspect_sentiment",
    "aspect_summary",
    "canonical_labels",
    "default_model",
    "detect_language",
    "discover_topics",
    "ensemble_model",
    "extract_keywords",
    "load_model",
    "load_user_dict",
    "normalize",
    "sentiment_alerts",
    "sentiment_features",
    "sentiment_trend",
    "tokenize",
    "top_keywords",
]
