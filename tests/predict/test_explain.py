import json

import numpy as np
import pytest

from crmlens.exceptions import ConfigError
from crmlens.predict.explain import explain_frame, global_importance, load_actions, suggest_action
from crmlens.predict.model import PropensityModel


@pytest.fixture(scope="module")
def model_and_data(make_planted):
    X, y = make_planted(1200, seed=4)
    return PropensityModel(n_trials=2, random_state=0).fit(X, y), X


def test_reasons_name_the_planted_drivers_of_high_scores(model_and_data):
    model, X = model_and_data
    out = explain_frame(
        model, X, top=3, outcome="churn", templates={"days_inactive": "inactive for {value:.0f} days"}
    )
    top = out.sort_values("score", ascending=False).head(50)
    first = [json.loads(r)[0]["feature"] for r in top["reasons"]]
    assert sum(f in {"days_inactive", "plan"} for f in first) >= 45
    texts = " ".join(top["reason_1"])
    assert "inactive for" in texts or "plan is monthly" in texts
    monthly = [
        t for t in top[["reason_1", "reason_2", "reason_3"]].to_numpy().ravel() if t.startswith("plan is")
    ]
    assert all("churn vs" in t for t in monthly)
    # every listed reason pushes the score up, strongest first
    for r in top["reasons"]:
        c = [x["contribution"] for x in json.loads(r)]
        assert all(v > 0 for v in c) and c == sorted(c, reverse=True)


def test_global_importance_ranks_the_signal(model_and_data):
    model, _ = model_and_data
    names = [row["feature"] for row in global_importance(model)]
    assert names.index("noise") > names.index("days_inactive")


def test_actions_map_and_user_file(tmp_path, model_and_data):
    model, X = model_and_data
    reasons = [{"feature": "Contract"}, {"feature": "tenure"}]
    assert "contract" in suggest_action(reasons, load_actions(None))
    custom = tmp_path / "actions.json"
    custom.write_text(json.dumps({"days_inactive": "send the comeback coupon"}))
    out = explain_frame(model, X.head(200), actions=load_actions(custom))
    assert (out["action"] == "send the comeback coupon").any()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"(": "x"}))
    with pytest.raises(ConfigError, match="not a valid regex"):
        load_actions(bad)


def test_scores_match_predict_proba(model_and_data):
    model, X = model_and_data
    out = explain_frame(model, X.head(300), batch_size=128)
    np.testing.assert_allclose(out["score"].to_numpy(), model.predict_proba(X.head(300))[:, 1], atol=1e-9)


def test_path_attribution_is_additive_and_agrees_with_shap(model_and_data):
    model, X = model_and_data
    M = model._encode(X)
    shap_phi, shap_total = model._contributions_matrix(M, method="shap")
    path_phi, path_total = model._contributions_matrix(M, method="path")
    np.testing.assert_allclose(path_total, shap_total, atol=1e-6)  # both sum to the same score
    agree = np.mean(np.argmax(shap_phi, axis=1) == np.argmax(path_phi, axis=1))
    assert agree >= 0.85
    fast = explain_frame(model, X.head(100), method="path")
    np.testing.assert_allclose(
        fast["score"], explain_frame(model, X.head(100), method="shap")["score"], atol=1e-9
    )


def test_template_alternatives_skip_missing_fields(make_planted):
    from crmlens.predict.explain import ReasonWriter

    X, y = make_planted(400, seed=9)
    X = X.rename(columns={"days_inactive": "recency_days", "spend": "ipd_mean_days"})
    model = PropensityModel(n_trials=0, blend="logistic", imbalance="none").fit(X, y)
    writer = ReasonWriter(model)
    j = writer.features.index("recency_days")
    M = model._encode(X)
    known = int(np.flatnonzero(~np.isnan(M[:, writer.features.index("ipd_mean_days")]))[0])
    text = writer.sentence(j, M[known])
    assert text.startswith(f"no purchase for {M[known, j]:.0f} days, usually every ")
    missing = int(np.flatnonzero(np.isnan(M[:, writer.features.index("ipd_mean_days")]))[0])
    # ipd_mean_days is missing in this row: the next wording that the row can fill is used, never "nan"
    assert writer.sentence(j, M[missing]).endswith(
        "days (usual {:.0f})".format(model.train_profile_["recency_days"]["median"])
    )


def test_reason_counts_of_one_are_singular(make_planted):
    from crmlens.predict.explain import ReasonWriter

    X, y = make_planted(400, seed=9)
    X = X.rename(columns={"days_inactive": "recency_days"})
    model = PropensityModel(n_trials=0, blend="logistic", imbalance="none").fit(X, y)
    writer = ReasonWriter(model)
    j = writer.features.index("recency_days")
    row = model._encode(X)[0].copy()
    row[j] = 1.0
    assert writer.sentence(j, row).startswith("no purchase for 1 day ")
    row[j] = 21.0
    assert writer.sentence(j, row).startswith("no purchase for 21 days ")
