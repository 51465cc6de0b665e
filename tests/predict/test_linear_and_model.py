import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from crmlens.exceptions import NotFittedError, ValidationError
from crmlens.predict.linear import LinearScorer
from crmlens.predict.model import PropensityModel, SpendModel
from crmlens.predict.prep import TabularEncoder


def test_linear_contributions_are_exact_and_match_sklearn(planted_data):
    X, y = planted_data
    enc = TabularEncoder().fit(X)
    M = enc.transform(X)
    cats = {j: len(enc.categorical_[n]) for j, n in enumerate(enc.features_) if n in enc.categorical_}
    lin = LinearScorer(C=0.5).fit(M, y, cats)
    reference = LogisticRegression(C=0.5, max_iter=2000).fit(lin._design(M), y)
    np.testing.assert_allclose(
        lin.decision_function(M), reference.decision_function(lin._design(M)), atol=1e-6
    )
    np.testing.assert_allclose(lin.contributions(M).mean(axis=0), 0.0, atol=1e-9)


def test_encoder_codes_unseen_and_missing():
    import pandas as pd

    enc = TabularEncoder().fit(pd.DataFrame({"c": ["a", "b", "a", None], "x": [1.0, 2.0, None, 4.0]}))
    M = enc.transform(pd.DataFrame({"c": ["b", "zzz", None], "x": [None, 3.0, 1.0]}))
    assert M[0, 0] == enc.categorical_["c"].index("b")
    assert M[1, 0] == len(enc.categorical_["c"])  # unseen -> "other"
    assert np.isnan(M[2, 0]) and np.isnan(M[0, 1])


@pytest.fixture(scope="module")
def fitted(make_planted):
    planted = make_planted
    X, y = planted(1500, seed=1)
    return PropensityModel(n_trials=3, random_state=0).fit(X, y), X, y


def test_model_learns_planted_signal_and_is_calibrated(fitted, make_planted, planted_truth):
    model, _, _ = fitted
    X_te, y_te = make_planted(2000, seed=7)
    p = model.predict_proba(X_te)[:, 1]
    truth = planted_truth(X_te)
    assert roc_auc_score(y_te, p) >= roc_auc_score(y_te, truth) - 0.03
    # probabilities close to the planted ones: mean absolute error well under the spread of the truth
    assert np.mean(np.abs(p - truth)) < 0.35 * np.mean(np.abs(truth - truth.mean()))
    importance = model.feature_importance()
    assert set(importance.feature[:2]) == {"days_inactive", "plan"}
    assert importance.set_index("feature").loc["noise", "importance"] < importance.importance.iloc[0] / 5


def test_contributions_add_up_to_the_score(fitted):
    model, X, _ = fitted
    phi, total = model.contributions(X.head(50))
    np.testing.assert_allclose(total, model.decision_function(X.head(50)), atol=1e-6)
    assert phi.shape == (50, len(model.feature_names_))


def test_deterministic_under_seed_and_clonable(fitted):
    model, X, y = fitted
    again = clone(model).fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X.head(100)), again.predict_proba(X.head(100)))
    assert model.describe()["imbalance"] in {"none", "class_weight", "undersample"}
    assert set(model.imbalance_report_) == {"none", "class_weight", "undersample"}
    assert set(model.calibration_report_) == {"none", "sigmoid", "isotonic"}


def test_threshold_by_value_and_errors(make_planted):
    X, y = make_planted(600, seed=2)
    model = PropensityModel(n_trials=2, benefit=200.0, cost=50.0, imbalance="none", blend="logistic").fit(
        X, y
    )
    assert model.threshold_ == pytest.approx(0.25)
    with pytest.raises(NotFittedError):
        PropensityModel().predict_proba(X)
    with pytest.raises(ValidationError, match="imbalance"):
        PropensityModel(imbalance="smote").fit(X, y)


def test_spend_model_beats_the_mean(make_planted):
    X, _ = make_planted(1200, seed=3)
    target = 5 + 2.0 * X["spend"].fillna(60) + np.random.default_rng(0).normal(0, 10, len(X))
    model = SpendModel(n_trials=3).fit(X.iloc[:900], target[:900])
    pred = model.predict(X.iloc[900:])
    mae = np.mean(np.abs(pred - target[900:]))
    assert mae < 0.5 * np.mean(np.abs(target[900:] - target[:900].mean()))


def test_choices_are_made_out_of_fold_and_lightgbm_is_bagged(make_planted):
    X, y = make_planted(900, seed=5)
    model = PropensityModel(n_trials=2, inner_folds=3, capacity=90, blend="lightgbm").fit(X, y)
    described = model.describe()
    assert set(described["lightgbm_candidates_oof_log_loss"]) == {"conservative", "conservative+tuned"}
    chosen = described["lightgbm_candidate"]
    assert described["lightgbm_boosters"] == len(model.boosters_) == (3 if chosen == "conservative" else 6)
    assert (chosen == "conservative+tuned") == (described["ensemble_paired_z"] <= -2.5)
    # every training row has an out-of-fold probability, and the capacity threshold picks 90 of them
    assert len(model.validation_["p"]) == len(y)
    assert (model.validation_["p"] >= model.threshold_).sum() == 90
    # the score is the average of the fold boosters
    M = model._encode(X.head(20))
    average = np.mean([b.predict(M, raw_score=True) for b in model.boosters_], axis=0)
    np.testing.assert_allclose(model.decision_function(X.head(20)), average, atol=1e-9)


def test_logistic_only_blend_trains_no_trees(make_planted):
    X, y = make_planted(400, seed=6)
    model = PropensityModel(n_trials=0, blend="logistic", imbalance="none").fit(X, y)
    assert model.boosters_ == [] and model.describe()["lightgbm_candidate"] == "none"
    phi, total = model.contributions(X.head(10))
    np.testing.assert_allclose(total, model.decision_function(X.head(10)), atol=1e-9)
