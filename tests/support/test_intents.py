from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone

from crmlens.exceptions import ConfigError, NotFittedError, ValidationError
from crmlens.support import IntentClassifier, evaluate_intents, load_intent_model


def test_tfidf_quality_on_held_out_banking_queries(banking, banking_tfidf):
    metrics, report = evaluate_intents(banking_tfidf, banking["test_x"], banking["test_y"])
    # 12 intents with close neighbours; chance is 0.08
    assert metrics["accuracy"] >= 0.85
    assert metrics["macro_f1"] >= 0.85
    assert set(report["intent"]) == set(banking["test_y"])
    assert report["support"].sum() == len(banking["test_y"])


def test_confidence_is_calibrated_and_threshold_holds_out_of_sample(banking, banking_tfidf):
    proba = banking_tfidf.predict_proba(banking["test_x"])
    assert np.allclose(proba.sum(axis=1), 1)
    pred = banking_tfidf.classes_[proba.argmax(axis=1)]
    correct = pred == np.asarray(banking["test_y"], dtype=object)
    confidence = proba.max(axis=1)
    # mean confidence tracks accuracy (an uncalibrated SVM softmax would be far off)
    assert abs(confidence.mean() - correct.mean()) < 0.08
    # confident predictions are more often right than unsure ones
    high = confidence >= np.median(confidence)
    assert correct[high].mean() > correct[~high].mean()
    # the threshold chosen out-of-fold in training keeps most of its precision on new data
    metrics, _ = evaluate_intents(banking_tfidf, banking["test_x"], banking["test_y"])
    assert 0 < metrics["automation_rate"] < 1
    assert metrics["automated_precision"] >= 0.9


def test_chinese_messages_use_jieba_words(waimai):
    train, test = waimai.iloc[::2], waimai.iloc[1::2]
    model = IntentClassifier(model="tfidf", calibration_cv=0).fit(train["review"], train["label"])
    accuracy = (model.predict(test["review"]) == test["label"].astype(str).to_numpy()).mean()
    assert accuracy >= 0.75  # positive vs negative reviews, 300 to learn from; chance is 0.5
    words = model.vectorizers_[0].vocabulary_
    assert "好吃" in words and "配送" in words  # jieba words, not single characters


def test_tiny_mixed_language_intents():
    texts = ["我要退款", "申请退款怎么操作", "退款什么时候到账", "快递到哪里了", "物流信息查不到", "包裹还没送到",
             "I want a refund", "refund my order please", "where is my parcel", "track my package"]  # fmt: skip
    labels = ["refund"] * 3 + ["delivery"] * 3 + ["refund"] * 2 + ["delivery"] * 2
    model = IntentClassifier(model="tfidf", calibration_cv=0).fit(texts, labels)
    assert model.predict(["退款多久能到", "我的快递呢", "can I get a refund", "my parcel is late"]).tolist() == [
        "refund", "delivery", "refund", "delivery",
    ]  # fmt: skip


def test_save_load_same_predictions_and_tamper_refused(tmp_path, banking, banking_tfidf):
    path = banking_tfidf.save(tmp_path / "intent.joblib")
    again = load_intent_model(path)
    assert np.array_equal(
        again.predict_proba(banking["test_x"]), banking_tfidf.predict_proba(banking["test_x"])
    )
    card = json.loads((tmp_path / "intent.joblib.json").read_text())
    assert card["model"] == "tfidf" and len(card["classes"]) == 12
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ConfigError, match="does not match the hash"):
        load_intent_model(path)


def test_estimator_contract_and_errors(banking):
    model = IntentClassifier(model="tfidf", C=0.5)
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        model.predict(["hello"])
    with pytest.raises(ConfigError, match="unknown"):
        IntentClassifier(model="bert").fit(["a", "b"], ["x", "y"])
    with pytest.raises(ValidationError, match="two different intents"):
        IntentClassifier(model="tfidf").fit(["a", "b"], ["x", "x"])
    with pytest.raises(ValidationError, match="not one string"):
        IntentClassifier(model="tfidf").fit("abc", ["x"])
    a = IntentClassifier(model="tfidf", random_state=3).fit(
        banking["train_x"][:300], banking["train_y"][:300]
    )
    b = IntentClassifier(model="tfidf", random_state=3).fit(
        banking["train_x"][:300], banking["train_y"][:300]
    )
    assert a.threshold_ == b.threshold_ and np.array_equal(a.oof_confidence_, b.oof_confidence_)


@pytest.mark.neural
def test_ensemble_with_sentence_embeddings_is_at_least_as_good(banking, banking_tfidf):
    # 30 queries per intent keep the embedding time of this test small
    x, y = banking["train_x"], banking["train_y"]
    keep = [i for i in range(len(x)) if i % 60 < 30]
    ensemble = IntentClassifier(model="ensemble").fit([x[i] for i in keep], [y[i] for i in keep])
    assert ensemble.model_ == "ensemble"
    ours, _ = evaluate_intents(ensemble, banking["test_x"], banking["test_y"])
    base, _ = evaluate_intents(banking_tfidf, banking["test_x"], banking["test_y"])
    assert ours["accuracy"] >= 0.88
    assert ours["accuracy"] >= base["accuracy"] - 0.01  # with half the training data of the baseline
    assert ours["automated_precision"] >= 0.9


def test_model_trained_on_other_embeddings_is_refused(tmp_path, banking):
    model = IntentClassifier(model="tfidf", calibration_cv=0).fit(banking["train_x"], banking["train_y"])
    model.model_, model.encoder_ = "ensemble", "all-MiniLM-L6-v2/float32"  # as an older version saved it
    path = model.save(tmp_path / "intent.joblib")
    with pytest.raises(ConfigError, match="retrain"):
        load_intent_model(path)


@pytest.mark.neural
def test_folded_prediction_equals_the_linear_model_on_all_features(banking):
    """Prediction by blocks (kernel folded through the Nystroem map) gives the SVM's own margins."""
    from crmlens.support.embeddings import encode
    from crmlens.support.intents import _as_texts

    x, y = banking["train_x"][::3], banking["train_y"][::3]
    model = IntentClassifier(model="ensemble", kernel_components=150, calibration_cv=0).fit(x, y)
    assert model.landmarks_.shape == (150, 384) and model.kernel_coef_.shape == (150, 12)
    train, test = _as_texts(x), _as_texts(banking["test_x"])
    kernel_map = model._kernel_map("ensemble", encode(train))  # the same landmarks, same seed
    features = model._features(test, model.vectorizers_, "ensemble", False, encode(test), kernel_map)
    expected = model.svm_.decision_function(features)
    assert np.allclose(model.decision_function(banking["test_x"]), expected, atol=1e-4)
    one = model.decision_function(banking["test_x"][:1])  # the one-message path (BLAS on one thread)
    assert np.allclose(one, expected[:1], atol=1e-4)
    # the same texts twice: repeated landmarks, whose kernel coordinates the map leaves out
    twice = IntentClassifier(model="ensemble", kernel_components=500, calibration_cv=0)
    twice.fit(x + x[:40], y + y[:40])
    n = len(x) + 40  # fewer texts than landmarks asked for: every text is one
    assert twice.landmarks_.shape[0] == n and twice.kernel_coef_.shape == (n, 12)
    kernel_map = twice._kernel_map("ensemble", encode(_as_texts(x + x[:40])))
    assert kernel_map.normalization_.shape[0] <= n - 40
    features = twice._features(test, twice.vectorizers_, "ensemble", False, encode(test), kernel_map)
    assert np.allclose(
        twice.decision_function(banking["test_x"]), twice.svm_.decision_function(features), atol=1e-4
    )
    without = IntentClassifier(model="ensemble", kernel_components=0, calibration_cv=0).fit(x, y)
    assert without.kernel_coef_ is None and without.predict(banking["test_x"][:5]).shape == (5,)


def test_model_saved_before_block_prediction_still_predicts(banking, banking_tfidf):
    import copy

    old = copy.deepcopy(banking_tfidf)
    for name in ("block_sizes_", "kernel_coef_", "landmarks_"):
        delattr(old, name)
    old.svm_.coef_ = np.ascontiguousarray(old.svm_.coef_)  # as an earlier version pickled it
    assert np.allclose(
        old.decision_function(banking["test_x"]), banking_tfidf.decision_function(banking["test_x"])
    )


def test_kernel_map_has_the_inner_products_of_sklearn_nystroem():
    """Same landmarks as scikit-learn's Nystroem with the same seed, same Gram matrix, only rotated."""
    from sklearn.kernel_approximation import Nystroem

    from crmlens.support.intents import _KernelMap

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(300, 16))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    ours = _KernelMap(gamma=1.5, n_components=120, random_state=4).fit(emb[:200])
    theirs = Nystroem(gamma=1.5, n_components=120, random_state=4).fit(emb[:200])
    assert np.array_equal(ours.components_, theirs.components_)
    new = emb[200:]
    a, b = ours.transform(new), theirs.transform(new)
    assert not np.allclose(a, b, atol=1e-3)  # another square root of the kernel matrix...
    assert np.allclose(a @ a.T, b @ b.T, atol=1e-8)  # ...with the same inner products
    assert np.allclose(ours.transform(emb[:200]) @ a.T, theirs.transform(emb[:200]) @ b.T, atol=1e-8)
    # landmarks drawn twice make the kernel matrix singular: the factor of the distinct ones, and
    # nearly repeated landmarks the eigenvalue root; the same inner products as scikit-learn's
    twice = np.vstack([emb[:50], emb[:50]])
    nearly = np.vstack([emb[:50], emb[:50] + 1e-9])
    for landmarks, factor in ((twice, True), (nearly, False)):
        dup = _KernelMap(gamma=1.5, n_components=100, random_state=0).fit(landmarks)
        ref = Nystroem(gamma=1.5, n_components=100, random_state=0).fit(landmarks)
        assert (dup.lower_ is not None) == factor
        a, b = dup.transform(new), ref.transform(new)
        assert np.allclose(a @ a.T, b @ b.T, atol=1e-6)


def test_fits_side_by_side_give_the_same_model(banking):
    x, y = banking["train_x"][::2], banking["train_y"][::2]
    one = IntentClassifier(model="tfidf", n_jobs=1).fit(x, y)
    two = IntentClassifier(model="tfidf", n_jobs=2).fit(x, y)
    assert np.array_equal(one.oof_confidence_, two.oof_confidence_)
    assert one.threshold_ == two.threshold_ and one.temperature_ == two.temperature_
    assert np.array_equal(one.svm_.coef_, two.svm_.coef_)


def test_dense_block_as_csr_keeps_every_value_in_float64():
    from crmlens.support.intents import _dense_csr

    block = np.array([[0.5, 0.0, -1.25], [3.0, 2.0, 0.0]], dtype=np.float32)
    matrix = _dense_csr(block)
    assert matrix.dtype == np.float64 and matrix.shape == (2, 3)
    assert np.array_equal(matrix.toarray(), block.astype(np.float64))
    assert matrix.nnz == 6  # zeros are stored entries: every row has the same layout
