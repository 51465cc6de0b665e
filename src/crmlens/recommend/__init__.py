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
    "evaluate_models",
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
