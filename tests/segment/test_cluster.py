import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from crmlens.exceptions import ConfigError
from crmlens.segment.cluster import SegmentClusterer, cluster_quality
from crmlens.segment.synthetic import make_customers

EX = ("customer_id",)


@pytest.fixture(scope="module")
def auto_model(planted, fast):
    frame, _ = planted
    return SegmentClusterer(exclude=EX, random_state=0, **fast).fit(frame)


def test_auto_recovers_planted_segments(planted, auto_model):
    _, truth = planted
    assert adjusted_rand_score(truth, auto_model.labels_) >= 0.8
    assert auto_model.n_clusters_ == 5
    table = auto_model.selection_
    assert table["chosen"].sum() == 1
    assert {"kmeans", "agglomerative", "gmm", "hdbscan"} <= set(table["method"])
    assert table[["silhouette", "stability"]].notna().all().all()


def test_auto_is_close_to_the_best_single_method(planted, auto_model, fast):
    frame, truth = planted
    best = 0.0
    for method in ("kmeans", "agglomerative", "gmm"):
        model = SegmentClusterer(method=method, exclude=EX, **fast).fit(frame)
        best = max(best, adjusted_rand_score(truth, model.labels_))
    assert adjusted_rand_score(truth, auto_model.labels_) >= best - 0.05


def test_segments_are_numbered_by_size_and_deterministic(planted, auto_model):
    frame, _ = planted
    sizes = np.bincount(auto_model.labels_)
    assert (np.diff(sizes) <= 0).all()
    again = clone(auto_model).fit(frame)
    np.testing.assert_array_equal(again.labels_, auto_model.labels_)


def test_predict_scores_new_customers_into_segments(auto_model):
    new, truth = make_customers(400, seed=11)
    assert adjusted_rand_score(truth, auto_model.predict(new)) >= 0.8


@pytest.mark.parametrize("method", ["agglomerative", "hdbscan", "dbscan"])
def test_sample_then_nearest_centroid_for_methods_that_do_not_scale(planted, method, fast):
    frame, truth = planted
    model = SegmentClusterer(method=method, exclude=EX, sample_fit_max=500, **fast).fit(frame)
    assert len(model.labels_) == len(frame) and model.labels_.min() >= 0
    assert model.n_clusters_ >= 2
    floor = 0.8 if method == "agglomerative" else 0.3
    assert adjusted_rand_score(truth, model.labels_) >= floor
    np.testing.assert_array_equal(model.predict(frame.head(50)), model.labels_[:50])


def test_minibatch_kmeans_path(planted, fast):
    frame, truth = planted
    model = SegmentClusterer(method="kmeans", n_clusters=5, exclude=EX, minibatch_threshold=100, **fast).fit(
        frame
    )
    assert type(model.model_).__name__ == "MiniBatchKMeans"
    assert adjusted_rand_score(truth, model.labels_) >= 0.8


def test_differentially_private_kmeans_trades_accuracy_for_privacy(planted, fast):
    frame, truth = planted

    def mean_ari(epsilon: float) -> float:
        scores = []
        for seed in range(3):
            model = SegmentClusterer(n_clusters=5, dp_epsilon=epsilon, exclude=EX, random_state=seed, **fast)
            scores.append(adjusted_rand_score(truth, model.fit(frame).labels_))
        assert type(model.model_).__module__.startswith("diffprivlib")
        return float(np.mean(scores))

    strict, loose = mean_ari(0.5), mean_ari(1000.0)
    assert loose >= 0.6
    assert loose > strict + 0.4
    with pytest.raises(ConfigError, match="needs --k"):
        SegmentClusterer(dp_epsilon=1.0, exclude=EX).fit(frame)


def test_bad_options_name_the_fix(planted):
    frame, _ = planted
    with pytest.raises(ConfigError, match="unknown --method"):
        SegmentClusterer(method="spectral").fit(frame)
    with pytest.raises(ConfigError, match="--k must be at least 2"):
        SegmentClusterer(n_clusters=1).fit(frame)


def test_cluster_quality_prefers_true_labels():
    rng = np.random.default_rng(0)
    Z = np.vstack([rng.normal(0, 0.3, (50, 2)), rng.normal(3, 0.3, (50, 2))])
    good = np.repeat([0, 1], 50)
    bad = rng.integers(0, 2, 100)
    q_good, q_bad = cluster_quality(Z, good), cluster_quality(Z, bad)
    assert q_good["silhouette"] > 0.7 > q_bad["silhouette"]
    assert q_good["davies_bouldin"] < q_bad["davies_bouldin"]
