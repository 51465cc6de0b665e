"""One shared contract for every recommender, then each model's own behaviour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.linear_model import Ridge

from crmlens.exceptions import NotFittedError, ValidationError
from crmlens.recommend import (
    EASERecommender,
    Interactions,
    PopularityRecommender,
    load_model,
    make_model,
    model_names,
    save_model,
)

NAMES = list(model_names())


def _fit(name: str, data: Interactions, text: dict[str, str]):
    model = make_model(name)
    if "als" in name or "bpr" in name:
        model.set_params(factors=8, iterations=10)
    kwargs = {"item_text": text} if name in ("content", "hybrid") else {}
    return model.fit(data, **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_contract(
    name: str, planted_data: Interactions, planted_text: dict[str, str], tmp_path: Path
) -> None:
    model = _fit(name, planted_data, planted_text)
    recs = model.recommend([0, 61, 10_000], n=4)
    assert list(recs.columns) == ["customer_id", "rank", "product_id", "score"]
    assert recs.groupby("customer_id").size().tolist() == [4, 4, 4]
    assert (recs.groupby("customer_id")["score"].apply(lambda s: s.is_monotonic_decreasing)).all()
    taken = set(planted_data.to_frame().query("user == 0")["item"])
    assert not taken & set(recs.query("customer_id == 0")["product_id"])  # purchased items excluded
    again = _fit(name, planted_data, planted_text).recommend([0, 61, 10_000], n=4)
    pd.testing.assert_frame_equal(recs, again)  # deterministic under the seed
    loaded = load_model(save_model(model, tmp_path / "model"))
    pd.testing.assert_frame_equal(recs, loaded.recommend([0, 61, 10_000], n=4))
    assert clone(model).get_params() == model.get_params()
    only = ["a1", "a2", "b3"]
    filtered = model.recommend([0], n=10, candidates=only, exclude=["a2"])
    assert set(filtered["product_id"]) <= {"a1", "b3"}
    similar = model.similar_items(["a1"], n=3)
    assert "a1" not in set(similar["similar_product_id"]) and len(similar) == 3


def test_unfitted_and_empty_inputs_raise_crmlens_errors() -> None:
    with pytest.raises(NotFittedError):
        PopularityRecommender().recommend([1])
    with pytest.raises(ValidationError):
        PopularityRecommender().fit(sp.csr_matrix((3, 3)))
    with pytest.raises(ValidationError):
        load_model(Path(__file__))


def test_popularity_counts_distinct_customers_by_hand() -> None:
    X = sp.csr_matrix(np.array([[5, 1, 0], [1, 0, 0], [1, 0, 0], [0, 0, 1]], dtype=np.float32))
    model = PopularityRecommender().fit(X)
    recs = model.recommend([3], n=2, exclude_purchased=False)
    assert recs["product_id"].tolist() == [0, 1]  # item 0: 3 customers; item 1 and 2 tie at 1, order kept
    assert model.recommend([1], n=1)["product_id"].tolist() == [1]


def test_segment_popularity_follows_the_segment(planted_data: Interactions) -> None:
    segments = {c: ("garden" if c < 60 else "kitchen") for c in planted_data.user_ids.tolist()}
    model = PopularityRecommender(shrinkage=1.0).fit(planted_data, segments=segments)
    garden = model.recommend([0], n=3, exclude_purchased=False, exclude=["best"])
    kitchen = model.recommend([100], n=3, exclude_purchased=False, exclude=["best"])
    assert all(p.startswith("a") for p in garden["product_id"])
    assert all(p.startswith("b") for p in kitchen["product_id"])


def test_ease_equals_ridge_regression_of_each_item_on_the_others() -> None:
    rng = np.random.default_rng(0)
    X = (rng.random((30, 5)) < 0.4).astype(np.float32)
    model = EASERecommender(l2=3.0).fit(sp.csr_matrix(X))
    for j in range(5):
        others = [c for c in range(5) if c != j]
        ridge = Ridge(alpha=3.0, fit_intercept=False).fit(X[:, others], X[:, j])
        assert np.allclose(model.weights_[others, j], ridge.coef_, atol=1e-4)
        assert model.weights_[j, j] == 0.0


def test_collaborative_models_find_the_customers_taste(
    planted_data: Interactions, planted_text: dict
) -> None:
    def share_of_own_taste(name: str) -> float:
        recs = _fit(name, planted_data, planted_text).recommend(range(60), n=3)
        return float(recs["product_id"].str.startswith("a").mean())

    baseline = share_of_own_taste("popularity")
    for name in ("item_knn", "user_knn", "ease", "als", "hybrid"):
        share = share_of_own_taste(name)
        assert share >= 0.7 and share > baseline + 0.15, (name, share, baseline)


def test_diversity_cap_per_category(planted_data: Interactions) -> None:
    model = EASERecommender(l2=5.0).fit(planted_data)
    categories = {p: ("odd" if p[-1] in "13579" else "even") for p in planted_data.item_ids.tolist()}
    recs = model.recommend(range(10), n=4, item_categories=categories, max_per_category=2)
    per = recs.assign(cat=recs["product_id"].map(categories)).groupby(["customer_id", "cat"]).size()
    assert per.max() <= 2
    assert recs.groupby("customer_id").size().eq(4).all()


def test_per_customer_exclusions(planted_data: Interactions) -> None:
    model = PopularityRecommender().fit(planted_data)
    first = model.recommend([0], n=1)["product_id"].iloc[0]
    again = model.recommend([0], n=1, exclude={0: [first]})
    assert again["product_id"].iloc[0] != first
