from __future__ import annotations

import math

import numpy as np
import pytest

from crmlens.exceptions import ConfigError
from crmlens.support import Router, SupportConfig, automation_at_precision, threshold_for_precision


def test_threshold_hand_computed():
    # sorted: 0.9 T, 0.8 T, 0.7 F, 0.6 T, 0.5 F -> cumulative precision 1, 1, 2/3, 3/4, 3/5
    conf = [0.6, 0.9, 0.5, 0.8, 0.7]
    ok = [True, True, False, True, False]
    assert threshold_for_precision(conf, ok, 0.95) == (0.8, 0.4, 1.0)
    assert threshold_for_precision(conf, ok, 0.75) == (0.6, 0.8, 0.75)
    threshold, rate, precision = threshold_for_precision(conf, ok, 0.6)
    assert (threshold, rate, precision) == (0.5, 1.0, 0.6)


def test_threshold_never_splits_ties():
    # the two 0.8s are one group: taking only the correct one is not a real threshold
    t, rate, p = threshold_for_precision([0.9, 0.8, 0.8], [True, True, False], 0.95)
    assert (t, rate, p) == (0.9, pytest.approx(1 / 3), 1.0)


def test_threshold_unreachable_automates_nothing():
    t, rate, p = threshold_for_precision([0.9, 0.8], [False, True], 0.95)
    assert t > 1 and rate == 0.0 and math.isnan(p)
    with pytest.raises(ConfigError):
        threshold_for_precision([0.5], [True], 1.5)


def test_automation_at_precision_counts_accepted():
    rate, precision = automation_at_precision(
        np.array([0.2, 0.6, 0.9, 0.95]), [False, False, True, True], 0.6
    )
    assert rate == 0.75 and precision == pytest.approx(2 / 3)


def test_router_uses_queue_map_default_and_human_queue():
    config = SupportConfig.from_mapping(
        {"queues": {"lost_or_stolen_card": "fraud_team"}, "default_queue": "cards"}
    )
    router = Router.from_config(config, threshold=0.7)
    assert router.route(["lost_or_stolen_card", "card_arrival", "lost_or_stolen_card"], [0.9, 0.8, 0.5]) == [
        "fraud_team",
        "cards",
        "human_triage",
    ]


def test_support_config_names_bad_key():
    with pytest.raises(ConfigError, match=r"support\.target_precision"):
        SupportConfig.from_mapping({"target_precision": 2})
    with pytest.raises(ConfigError, match=r"support\.queue"):
        SupportConfig.from_mapping({"queue": {}})
