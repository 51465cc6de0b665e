"""Automated customer support: intents, routing, FAQ answers, reply drafts, urgency, ticket analytics.

The warehouse pipeline calls :func:`triage` on the ``tickets`` table and :func:`ticket_analytics`
for the report; file mode is ``crmlens intent …`` and ``crmlens faq …``.
"""

from crmlens.support.analytics import ticket_analytics
from crmlens.support.drafts import Draft, draft_reply
from crmlens.support.evaluate import evaluate_faq, evaluate_intents, single_message_latency
from crmlens.support.faq import FaqIndex, FaqMatch, load_faq_index
from crmlens.support.intents import IntentClassifier, load_intent_model
from crmlens.support.pipeline import run_support, starter_faq
from crmlens.support.routing import Router, SupportConfig, automation_at_precision, threshold_for_precision
from crmlens.support.triage import build_profiles, ticket_text, triage
from crmlens.support.urgency import urgency_scores

__all__ = [
    "Draft",
    "FaqIndex",
    "FaqMatch",
    "IntentClassifier",
    "Router",
    "SupportConfig",
    "automation_at_precision",
    "build_profiles",
    "draft_reply",
    "evaluate_faq",
    "evaluate_intents",
    "load_faq_index",
    "load_intent_model",
    "run_support",
    "single_message_latency",
    "starter_faq",
    "threshold_for_precision",
    "ticket_analytics",
    "ticket_text",
    "triage",
    "urgency_scores",
]
