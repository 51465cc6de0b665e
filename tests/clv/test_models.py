"""BG/NBD, MBG/NBD and Gamma-Gamma: hand-computed likelihoods, recovery of known parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special
from sklearn.base import clone

from crmlens.clv import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel
from crmlens.clv.simulate import simulate_bgnbd
from crmlens.exceptions import NotFittedError, ValidationError

TINY = pd.DataFrame(
    {"frequency": [0.0, 2.0, 5.0, 1.0], "recency": [0.0, 10.0, 30.0, 4.0], "T": [40.0, 38.0, 35.0, 39.0]}
)


def test_bgnbd_loglik_matches_hand_formula() -> None:
    r, alpha, a, b = 0.5, 3.0, 0.8, 2.0
    params = np.array([r, alpha, a, b])
    ll = BetaGeoModel._loglik(
        params, TINY["frequency"].to_numpy(), TINY["recency"].to_numpy(), TINY["T"].to_numpy()
    )
    # x = 0: the customer is surely alive, so L = (alpha / (alpha + T))^r
    assert ll[0] == pytest.approx(r * np.log(alpha / (alpha + 40.0)))
    # x = 2, t_x = 10, T = 38: FHL (2005) eq. 6, written out
    x, tx, T = 2.0, 10.0, 38.0
    beta_part = special.beta(a, b + x) / special.beta(a, b)
    gamma_part = special.gamma(r + x) * alpha**r / special.gamma(r)
    like = beta_part * gamma_part / (alpha + T) ** (r + x) + (
        special.beta(a + 1, b + x - 1) / special.beta(a, b) * gamma_part / (alpha + tx) ** (r + x)
    )
    assert ll[1] == pytest.approx(np.log(like))


def test_p_alive_rules() -> None:
    bg = BetaGeoModel().fit(simulate_bgnbd(800, seed=3))
    mbg = ModifiedBetaGeoModel().fit(simulate_bgnbd(800, seed=3))
    p_bg, p_mbg = bg.probability_alive(TINY), mbg.probability_alive(TINY)
    assert p_bg[0] == 1.0  # BG/NBD: nobody dies before a repeat purchase
    assert (p_mbg < 1).all() and (p_mbg > 0).all()
    # Same frequency, later last purchase: more likely alive
    late = pd.DataFrame({"frequency": [3.0, 3.0], "recency": [5.0, 35.0], "T": [39.0, 39.0]})
    assert bg.probability_alive(late)[1] > bg.probability_alive(late)[0]


def test_bgnbd_recovers_known_parameters() -> None:
    truth = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    summary = simulate_bgnbd(6000, **truth, T=39.0, holdout=39.0, seed=7)
    model = BetaGeoModel().fit(summary)
    assert model.params_["r"] == pytest.approx(truth["r"], rel=0.15)
    assert model.params_["alpha"] == pytest.approx(truth["alpha"], rel=0.25)
    # the dropout mean a / (a + b) is well identified even when a and b trade off
    fitted = model.params_["a"] / (model.params_["a"] + model.params_["b"])
    assert fitted == pytest.approx(truth["a"] / (truth["a"] + truth["b"]), rel=0.25)
    predicted = model.expected_purchases(summary, 39.0).sum()
    assert predicted == pytest.approx(summary["frequency_holdout"].sum(), rel=0.10)


def test_expected_purchases_grow_with_horizon_and_history() -> None:
    model = BetaGeoModel().fit(simulate_bgnbd(1000, seed=1))
    short, long = model.expected_purchases(TINY, 4.0), model.expected_purchases(TINY, 40.0)
    assert (long > short).all() and (short > 0).all()
    assert (
        model.expected_purchases(TINY.iloc[[2]], 10.0)[0] > model.expected_purchases(TINY.iloc[[0]], 10.0)[0]
    )


def test_estimator_contract_and_errors() -> None:
    model = BetaGeoModel(penalizer=0.01)
    assert clone(model).get_params() == {"penalizer": 0.01, "hardcore": False}
    with pytest.raises(NotFittedError):
        model.probability_alive(TINY)
    with pytest.raises(ValidationError, match="recency"):
        model.fit(TINY.drop(columns=["recency"]))
    bad = TINY.assign(recency=[0.0, 50.0, 30.0, 4.0])  # recency beyond T
    with pytest.raises(ValidationError, match="recency <= T"):
        model.fit(bad)
    # arrays in frequency, recency, T order give the same fit as the frame
    a = BetaGeoModel().fit(simulate_bgnbd(500, seed=2))
    b = BetaGeoModel().fit(simulate_bgnbd(500, seed=2)[["frequency", "recency", "T"]].to_numpy())
    assert a.params_ == pytest.approx(b.params_)


def test_gamma_gamma_recovers_mean_and_shrinks() -> None:
    rng = np.random.default_rng(0)
    p, q, v = 6.0, 4.0, 15.0
    n = 4000
    freq = rng.integers(1, 8, n).astype(float)
    nu = rng.gamma(q, 1.0 / v, n)  # each customer's rate; mean spend p / nu
    spend = np.array([rng.gamma(p, 1.0 / nu[i], int(freq[i])).mean() for i in range(n)])
    summary = pd.DataFrame({"frequency": freq, "monetary_value": spend})
    model = GammaGammaModel().fit(summary)
    population = p * v / (q - 1)
    fitted_population = model.params_["p"] * model.params_["v"] / (model.params_["q"] - 1)
    assert fitted_population == pytest.approx(population, rel=0.1)
    expected = model.expected_spend(summary)
    # the expectation sits between the customer's own mean and the population mean
    lo = np.minimum(spend, fitted_population) - 1e-9
    hi = np.maximum(spend, fitted_population) + 1e-9
    assert ((expected >= lo) & (expected <= hi)).all()
    new = model.expected_spend(pd.DataFrame({"frequency": [0.0], "monetary_value": [0.0]}))
    assert new[0] == pytest.approx(fitted_population)


def test_hardcore_share_is_found_and_preferred_by_aic() -> None:
    summary = simulate_bgnbd(
        6000, r=0.5, alpha=4.0, a=1.0, b=2.0, T=39.0, holdout=39.0, seed=11, never_drop=0.3
    )
    plain = BetaGeoModel().fit(summary)
    loyal = BetaGeoModel(hardcore=True).fit(summary)
    assert loyal.params_["pi"] == pytest.approx(0.3, abs=0.15)
    assert loyal.aic_ < plain.aic_
    err_plain = abs(plain.expected_purchases(summary, 39.0).sum() / summary["frequency_holdout"].sum() - 1)
    err_loyal = abs(loyal.expected_purchases(summary, 39.0).sum() / summary["frequency_holdout"].sum() - 1)
    assert err_loyal < err_plain and err_loyal < 0.1
    assert loyal.score(summary) > plain.score(summary)


def test_auto_picks_lowest_aic() -> None:
    from crmlens.clv import fit_clv

    result = fit_clv(simulate_bgnbd(1500, seed=6), unit="W", model="auto")
    aic = result.info["aic"]
    assert set(aic) == {"bgnbd", "mbgnbd", "bgnbd_hc", "mbgnbd_hc"}
    assert result.model == min(aic, key=aic.get)
