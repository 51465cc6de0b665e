"""On real public data: the stand-in customer_personality file and online_retail transactions."""

import numpy as np
import pandas as pd
import pytest

from crmlens.segment import read_customer_file, rfm_table, segment_frame


@pytest.fixture(scope="module")
def personality(shared_data):
    return read_customer_file(shared_data / "customer_personality" / "marketing_campaign.csv")


def test_reads_the_semicolon_day_first_file(personality):
    assert personality.shape == (2240, 29)
    assert personality["Income"].isna().sum() == 24


def test_segments_customer_personality(personality, fast):
    result = segment_frame(personality, id_col="ID", method="kmeans", columns=None, **fast)
    pre = result.model.preprocessor_
    assert pre.dates_["Dt_Customer"]["format"] == "%d/%m/%Y"
    assert {"Z_CostContact", "Z_Revenue"} <= set(pre.dropped_)
    assert result.metrics["silhouette"] > 0.1 and result.metrics["stability"] > 0.8
    by_name = result.profiles.set_index("segment_name")
    # whichever segment carries the most revenue spends more per head than the population
    top = result.profiles.sort_values("revenue_share").iloc[-1]
    assert top["revenue_share"] > top["share"]
    assert len(by_name) == result.model.n_clusters_


def test_rfm_from_online_retail_matches_a_direct_aggregation(shared_data):
    tx = pd.read_csv(
        shared_data / "online_retail" / "online_retail.csv.gz",
        dtype={"InvoiceNo": str, "StockCode": str},
        nrows=40_000,
    )
    tx = tx.dropna(subset=["CustomerID"])
    tx = tx[~tx["InvoiceNo"].str.startswith("C")]
    tx["amount"] = tx["Quantity"] * tx["UnitPrice"]
    out = rfm_table(tx, "CustomerID", "InvoiceDate", "amount", invoice_col="InvoiceNo").set_index(
        "CustomerID"
    )
    assert len(out) == tx["CustomerID"].nunique()
    one = out.index[0]
    mine = tx[tx["CustomerID"] == one]
    assert out.loc[one, "frequency"] == mine["InvoiceNo"].nunique()
    assert np.isclose(out.loc[one, "monetary"], mine["amount"].sum())
    assert (out["recency_days"] >= 0).all() and (out["tenure_days"] >= out["recency_days"]).all()
