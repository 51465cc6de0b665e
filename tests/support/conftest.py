"""Small real samples for the support tests: a dozen BANKING77 intents, and a Chinese review set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# Twelve intents, some of them close neighbours (card_arrival / card_delivery_estimate), so the
# sample is not trivially separable.
INTENTS = [
    "card_arrival",
    "card_delivery_estimate",
    "lost_or_stolen_card",
    "compromised_card",
    "request_refund",
    "Refund_not_showing_up",
    "exchange_rate",
    "card_payment_wrong_exchange_rate",
    "pending_transfer",
    "transfer_not_received_by_recipient",
    "change_pin",
    "passcode_forgotten",
]


@pytest.fixture(scope="session")
def banking(shared_data: Path) -> dict[str, list[str]]:
    """60 training and 20 held-out queries per intent (stratified, fixed seed)."""
    frame = pd.read_csv(shared_data / "banking77" / "train.csv")
    frame = frame[frame["category"].isin(INTENTS)]
    rng = np.random.default_rng(0)
    train, test = [], []
    for _, group in frame.groupby("category", sort=True):
        order = rng.permutation(len(group))
        train.append(group.iloc[order[:60]])
        test.append(group.iloc[order[60:80]])
    tr, te = pd.concat(train), pd.concat(test)
    return {
        "train_x": tr["text"].tolist(),
        "train_y": tr["category"].tolist(),
        "test_x": te["text"].tolist(),
        "test_y": te["category"].tolist(),
    }


@pytest.fixture(scope="session")
def banking_tfidf(banking):  # noqa: ANN001, ANN201
    from crmlens.support import IntentClassifier

    return IntentClassifier(model="tfidf").fit(banking["train_x"], banking["train_y"])


@pytest.fixture(scope="session")
def waimai(shared_data: Path) -> pd.DataFrame:
    """600 Chinese food-delivery reviews, half positive, half negative."""
    frame = pd.read_csv(shared_data / "zh_sentiment" / "waimai_10k.csv")
    return pd.concat(
        [g.sample(n=300, random_state=0) for _, g in frame.groupby("label", sort=True)]
    ).reset_index(drop=True)
