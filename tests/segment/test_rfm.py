import numpy as np
import pandas as pd
import pytest

from crmlens.exceptions import ValidationError
from crmlens.segment.rfm import RFMSegmenter, rfm_table


def test_rfm_table_by_hand():
    tx = pd.DataFrame(
        {
            "cust": ["a", "a", "a", "b", "c"],
            "when": ["2024-01-01", "2024-01-01", "2024-03-01", "2024-02-15", "2024-04-01"],
            "inv": ["1", "1", "2", "3", "4"],
            "amount": [10.0, 5.0, 20.0, 7.0, 100.0],
        }
    )
    out = rfm_table(tx, "cust", "when", "amount", invoice_col="inv", as_of="2024-03-31").set_index("cust")
    assert list(out.index) == ["a", "b"]  # c bought after the cutoff
    assert out.loc["a", "frequency"] == 2 and out.loc["a", "monetary"] == 35.0
    assert out.loc["a", "recency_days"] == 30.0 and out.loc["a", "tenure_days"] == 90.0
    assert out.loc["b", "recency_days"] == 45.0


def test_scores_and_standard_names():
    frame = pd.DataFrame(
        {
            "recency_days": [1, 5, 30, 90, 300],
            "frequency": [20, 8, 4, 2, 1],
            "monetary": [900.0, 300, 120, 60, 20],
        }
    )
    rfm = RFMSegmenter().fit(frame)
    scores = rfm.scores(frame)
    assert scores["r_score"].tolist() == [5, 4, 3, 2, 1]
    assert scores["rfm_cell"].tolist() == ["555", "444", "333", "222", "111"]
    assert rfm.predict(frame).tolist() == ["champions", "loyal", "need attention", "hibernating", "lost"]
    # a new customer is scored on the fitted edges: recent, one small order -> new
    new = pd.DataFrame({"recency_days": [0], "frequency": [1], "monetary": [5.0]})
    assert rfm.predict(new).tolist() == ["new"]


def test_custom_grid_and_missing_column():
    frame = pd.DataFrame({"recency_days": [1, 50, 99], "frequency": [3, 2, 1], "monetary": [3.0, 2, 1]})
    grid = (("fresh", (2, 3), (1, 3)), ("stale", (1, 1), (1, 3)))
    assert RFMSegmenter(n_bins=3, segments=grid).fit_predict(frame).tolist() == ["fresh", "fresh", "stale"]
    with pytest.raises(ValidationError, match="recency_col"):
        RFMSegmenter(recency_col="days").fit(frame)


def test_rfm_names_agree_with_planted_behaviour(planted):
    frame, truth = planted
    names = RFMSegmenter().fit_predict(frame)
    lapsed = np.isin(names, ["hibernating", "lost", "at risk", "can't lose", "about to sleep"])
    # planted lapsed customers are mostly named as lapsed, planted loyal ones mostly not
    assert lapsed[truth == "hibernating"].mean() > 0.8
    assert lapsed[truth == "high-value loyal"].mean() < 0.1
    assert (names[truth == "high-value loyal"] == "champions").mean() > 0.5
