from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlens.exceptions import ConfigError, ValidationError
from crmlens.recommend import Interactions, interaction_weights


def test_from_frame_sums_duplicates_and_drops_unknown_items() -> None:
    frame = pd.DataFrame({"u": [1, 1, 2, 2], "i": ["x", "x", "y", "z"], "w": [1.0, 2.0, 1.0, 5.0]})
    data = Interactions.from_frame(frame, "u", "i", "w", item_ids=np.array(["x", "y"]))
    assert data.matrix.shape == (2, 2)
    assert data.matrix[0, 0] == pytest.approx(3.0)
    assert data.matrix[1, 1] == pytest.approx(1.0)
    assert data.matrix.nnz == 2  # "z" is not in the item index


def test_from_frame_names_the_missing_column() -> None:
    with pytest.raises(ValidationError, match="'item'"):
        Interactions.from_frame(pd.DataFrame({"u": [1]}), "u", "item", None)


def test_weights_quantity_events_and_half_life_by_hand() -> None:
    frame = pd.DataFrame(
        {
            "q": [1, 3, 1, 1],
            "kind": ["view", "cart", "purchase", "teleport"],
            "ts": pd.to_datetime(["2024-01-11", "2024-01-11", "2024-01-01", "2024-01-11"]),
        }
    )
    w = interaction_weights(frame, quantity_col="q", event_col="kind", time_col="ts", half_life_days=10)
    assert w[0] == pytest.approx(1 * (1 + np.log1p(1)))
    assert w[1] == pytest.approx(3 * (1 + np.log1p(3)))
    assert w[2] == pytest.approx(5 * (1 + np.log1p(1)) * 0.5)  # ten days older: half
    assert w[3] == pytest.approx(1 + np.log1p(1))  # unknown event type weighs 1
    linear = interaction_weights(frame, quantity_col="q", quantity="linear")
    assert linear.tolist() == [1, 3, 1, 1]
    with pytest.raises(ConfigError):
        interaction_weights(frame, quantity_col="q", quantity="square")


def test_recency_steps_count_each_customers_later_baskets() -> None:
    frame = pd.DataFrame(
        {"u": [1, 1, 1, 2], "ts": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-05", "2023-01-01"])}
    )
    w = interaction_weights(frame, time_col="ts", user_col="u", recency_steps=1.0, recency_floor=0.0)
    assert w.tolist() == pytest.approx(
        [np.exp(-1), 1.0, 1.0, 1.0]
    )  # same basket, same step; own clock per customer
