"""Product recommendations: collaborative, content and hybrid models, cross-sell rules, evaluation."""

from crmlens.recommend.base import BaseRecommender, load_model, make_model, model_names, save_model
from crmlens.recommend.content import ContentRecommender, product_text, tokenize
from crmlens.recommend.data import Interactions, interaction_weights, read_interactions
from crmlens.recommend.evaluate import evaluate_models, ranking_metrics, temporal_split
from crmlens.recommend.hybrid import DEFAULT_WEIGHTS, HybridRecommender
from crmlens.recommend.models import (
    ALSRecommender,
    BPRRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    UserKNNRecommender,
)
from crmlens.recommend.rules import association_rules, candidate_items, frequently_bought_together, upsell
from crmlens.recommend.warehouse import (
    bundles,
    evaluate_warehouse,
    recommend_from_warehouse,
    upsell_from_warehouse,
)

__all__ = [
    "ALSRecommender",
    "BPRRecommender",
    "BaseRecommender",
    "ContentRecommender",
    "DEFAULT_WEIGHTS",
    "EASERecommender",
    "HybridRecommender",
    "Interactions",
    "ItemKNNRecommender",
    "PopularityRecommender",
    "UserKNNRecommender",
    "association_rules",
    "bundles",
    "candidate_items",
    "frequently_bought_together",
    "recommend_from_warehouse",
    "upsell",
    "upsell_from_warehouse",
    "evaluate_models",
    "evaluate_warehouse",
    "interaction_weights",
    "load_model",
    "make_model",
    "model_names",
    "product_text",
    "ranking_metrics",
    "read_interactions",
    "save_model",
    "temporal_split",
    "tokenize",
]
