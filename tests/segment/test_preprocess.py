import numpy as np
import pandas as pd
import pytest

from crmlens.exceptions import ValidationError
from crmlens.segment.preprocess import CustomerPreprocessor


def test_log_winsorising_and_unit_variance_by_hand():
    frame = pd.DataFrame({"spend": [0.0, 9.0, 99.0, 999.0, 9999.0, 1.0, 3.0], "n": [1.0, 2, 3, 4, 5, 6, 7]})
    pre = CustomerPreprocessor(skew_threshold=1.0, winsor=0.1).fit(frame)
    assert pre.numeric_["spend"]["log"] is True
    assert pre.numeric_["n"]["log"] is False
    Z = pre.transform(frame)
    logs = np.log1p(frame["spend"].to_numpy())
    kept = np.clip(logs, *np.quantile(logs, [0.1, 0.9]))
    np.testing.assert_allclose(Z[:, 0], (kept - kept.mean()) / kept.std())
    # n: 1..7 clipped at its 10% and 90% quantiles (1.6 and 6.4), then mean 0 and variance 1
    kept = np.clip(frame["n"].to_numpy(), 1.6, 6.4)
    np.testing.assert_allclose(Z[:, 1], (kept - 4.0) / kept.std())
    assert Z[:, 1].std() == pytest.approx(1.0)


def test_robust_scaling_by_hand():
    frame = pd.DataFrame({"n": [1.0, 2, 3, 4, 5, 6, 7]})
    Z = CustomerPreprocessor(scaling="robust").fit_transform(frame)
    np.testing.assert_allclose(Z[:, 0], (frame["n"].to_numpy() - 4.0) / 3.0)  # median 4, IQR 2.5..5.5
    with pytest.raises(ValidationError, match="scaling"):
        CustomerPreprocessor(scaling="minmax").fit(frame)


def test_a_zero_inflated_column_does_not_outweigh_the_rest():
    """Median/IQR scaling gives a share most customers never buy a tiny IQR and a huge weight."""
    rng = np.random.default_rng(0)
    n = 2000
    rare = np.where(rng.random(n) < 0.7, 0.0, rng.uniform(0.02, 0.3, n))  # 70% zeros
    frame = pd.DataFrame({"rare_share": rare, "orders": rng.normal(10, 2, n)})
    robust = CustomerPreprocessor(scaling="robust").fit_transform(frame).var(axis=0)
    assert robust[0] > 2 * robust[1]
    default = CustomerPreprocessor().fit_transform(frame).var(axis=0)
    np.testing.assert_allclose(default, [1.0, 1.0], rtol=0.05)


def test_shares_are_not_logged_and_a_share_family_weighs_as_one_column():
    rng = np.random.default_rng(1)
    mix = rng.dirichlet([0.3, 0.3, 0.3, 0.3], size=1000)  # skewed shares of one whole
    frame = pd.DataFrame(
        mix, columns=["cat_share_tea", "cat_share_snacks", "cat_share_toys", "cat_share_pens"]
    )
    frame["orders"] = rng.normal(10, 2, 1000)
    pre = CustomerPreprocessor().fit(frame)
    assert not any(pre.numeric_[c]["log"] for c in frame.columns[:4])
    var = pre.transform(frame).var(axis=0)
    assert var[:4].sum() == pytest.approx(var[4], rel=0.05)  # four shares together weigh as one column
    ungrouped = CustomerPreprocessor(group_shares=False).fit_transform(frame).var(axis=0)
    np.testing.assert_allclose(ungrouped, 1.0, rtol=0.05)


def test_day_first_dates_categories_missing_and_dropped_columns():
    frame = pd.DataFrame(
        {
            "joined": ["04/09/2012", "13/09/2012", "01/01/2013", "28/02/2013"],
            "tier": ["gold", "silver", None, "gold"],
            "income": [10.0, np.nan, 30.0, 40.0],
            "constant": [3, 3, 3, 3],
            "email": ["a@x", "b@x", "c@x", "d@x"],
        }
    )
    pre = CustomerPreprocessor(max_cardinality_share=0.5).fit(frame)
    assert pre.dates_["joined"]["format"] == "%d/%m/%Y"
    assert pre.dropped_["constant"] == "constant"
    assert "income" in pre.numeric_ and "tier" in pre.categorical_
    Z = pre.transform(frame)
    assert np.isfinite(Z).all()
    names = list(pre.get_feature_names_out())
    # 13/09/2012 is 168 days before 28/02/2013, the latest date
    joined = pre._coerce_seen(frame["joined"], "joined")
    assert joined[1] == 168.0 and joined[3] == 0.0
    # the missing income takes the median of the seen values (30)
    assert Z[1, names.index("income")] == Z[2, names.index("income")]
    # an unseen category lands in "other"
    new = frame.assign(tier=["platinum"] * 4)
    assert (pre.transform(new)[:, names.index("tier=other")] > 0).all()


def test_missing_column_at_transform_is_named():
    pre = CustomerPreprocessor().fit(pd.DataFrame({"a": [1.0, 2, 3], "b": [3.0, 1, 2]}))
    with pytest.raises(ValidationError, match="'b'"):
        pre.transform(pd.DataFrame({"a": [1.0]}))


def test_no_usable_columns_is_an_error():
    with pytest.raises(ValidationError, match="no usable feature columns"):
        CustomerPreprocessor().fit(pd.DataFrame({"c": [1, 1, 1]}))


def test_identifier_like_text_is_left_out():
    frame = pd.DataFrame({"email": [f"c{i}@x.org" for i in range(40)], "orders": np.arange(40.0)})
    pre = CustomerPreprocessor().fit(frame)
    assert pre.dropped_ == {"email": "identifier or free text"}
    assert list(pre.get_feature_names_out()) == ["orders"]
