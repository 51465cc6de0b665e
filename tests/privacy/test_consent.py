"""Consent: opted-out customers never reach a marketing list or a profiling (training/scoring) set."""

from __future__ import annotations

import pandas as pd
import pytest

from crmlens.exceptions import ConfigError, NotFittedError
from crmlens.privacy import consent_coverage, consent_predicate, consented, filter_consented


def test_marketing_list_excludes_refusals_anywhere(warehouse) -> None:
    # customer 1 said yes in crm but no in shop: refusal wins; customer 3 never said: opt-in means no
    allowed = consented(warehouse, "marketing")["customer_id"].tolist()
    assert allowed == [2]
    targets = pd.DataFrame({"customer_id": [1, 2, 3], "uplift": [0.3, 0.2, 0.1]})
    assert filter_consented(warehouse, targets, "marketing")["customer_id"].tolist() == [2]
    in_sql = warehouse.query(
        f"SELECT DISTINCT customer_id FROM campaign_contacts WHERE {consent_predicate(warehouse, 'marketing')}"
    ).to_pandas()
    assert in_sql["customer_id"].tolist() == [2]


def test_profiling_excludes_opt_out_from_training_and_scoring(warehouse) -> None:
    rows = warehouse.query(
        f"SELECT customer_id FROM customer_360 WHERE {consent_predicate(warehouse, 'profiling')} ORDER BY 1"
    ).to_pandas()
    assert rows["customer_id"].tolist() == [1, 3]  # customer 2 refused profiling


def test_default_true_still_honours_refusals(warehouse) -> None:
    assert consented(warehouse, "marketing", default=True)["customer_id"].tolist() == [2, 3]


def test_without_golden_record_uses_sources(warehouse) -> None:
    warehouse.execute("DROP TABLE customers")
    assert consented(warehouse, "marketing")["customer_id"].tolist() == [2]
    assert consented(warehouse, "profiling")["customer_id"].tolist() == [1, 3]


def test_errors_name_the_fix(engine, warehouse) -> None:
    with pytest.raises(ConfigError, match="unknown purpose"):
        consented(warehouse, "advertising")
    empty = type(warehouse)(":memory:")
    with pytest.raises(NotFittedError, match="consent_marketing"):
        consented(empty, "marketing")


def test_coverage(warehouse) -> None:
    cov = consent_coverage(warehouse)
    assert cov["marketing"] == {"table": "customers", "records": 3, "yes": 2, "no": 0, "unknown": 1,
                                "allowed_customers": 1}  # fmt: skip
    assert cov["profiling"]["allowed_customers"] == 2
