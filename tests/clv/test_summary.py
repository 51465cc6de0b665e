"""The SQL summary: hand-counted on tiny data, string and integer ids, days and weeks, no leakage."""

from __future__ import annotations

import pandas as pd
import pytest

from crmlens.clv import holdout_period_counts, summary_from_transactions, summary_sql
from crmlens.engine import DuckDBEngine
from crmlens.exceptions import ConfigError, ValidationError

TX = pd.DataFrame(
    {
        "cust": ["a", "a", "a", "a", "b", "c", "c", "a", "c"],
        "day": [
            "2024-01-01",  # Mon
            "2024-01-01",  # same day: one purchase
            "2024-01-03",  # same week, another day
            "2024-01-15",
            "2024-01-10",
            "2024-01-02",
            "2024-01-20",
            "2024-02-05",  # holdout
            "2024-02-06",  # holdout
        ],
        "amount": [10.0, 5.0, 20.0, 30.0, 7.0, 8.0, -8.0, 40.0, 9.0],  # c's second row is a return
    }
)


def test_daily_summary_by_hand() -> None:
    s = summary_from_transactions(
        TX, "cust", "day", "amount", "2024-01-31", "2024-02-29", unit="D"
    ).set_index("customer_id")
    a = s.loc["a"]
    # a: days Jan 1 (15), Jan 3 (20), Jan 15 (30) -> 2 repeats; last at day 14; T = Jan 31 - Jan 1 = 30
    assert (a.frequency, a.recency, a["T"]) == (2.0, 14.0, 30.0)
    assert a.monetary_value == pytest.approx(25.0)  # mean of the repeat days 20 and 30
    assert a.first_amount == pytest.approx(15.0) and a.total_amount == pytest.approx(65.0)
    assert (a.frequency_holdout, a.amount_holdout, a.duration_holdout) == (1, 40.0, 29.0)
    c = s.loc["c"]
    assert (c.frequency, c.recency, c.monetary_value) == (0.0, 0.0, 0.0)  # the return is not a purchase
    assert s.loc["b"]["T"] == 21.0


def test_weekly_summary_by_hand() -> None:
    s = summary_from_transactions(
        TX, "cust", "day", "amount", "2024-01-31", "2024-02-29", unit="W"
    ).set_index("customer_id")
    a = s.loc["a"]
    # weeks (Monday-based): Jan 1-7 = week 0, Jan 15 = week 2, Jan 31 = week 4
    assert (a.frequency, a.recency, a["T"]) == (1.0, 2.0, 4.0)
    assert a.first_amount == pytest.approx(35.0)
    assert (s.loc["c"].frequency_holdout, s.loc["c"].duration_holdout) == (1, 4.0)


def test_integer_ids_and_warehouse_orders(engine: DuckDBEngine) -> None:
    orders = TX.rename(columns={"cust": "customer_id", "day": "ts"}).assign(
        customer_id=lambda d: d["customer_id"].map({"a": 1, "b": 2, "c": 3}).astype("int64"),
        ts=lambda d: pd.to_datetime(d["ts"]) + pd.Timedelta(hours=13),
        order_id=[f"o{i}" for i in range(len(TX))],
    )
    engine.write_table("orders", orders)
    s = summary_sql(engine, "2024-01-31", "2024-02-29", unit="D")
    assert list(s["customer_id"]) == [1, 2, 3]
    from_file = summary_from_transactions(TX, "cust", "day", "amount", "2024-01-31", "2024-02-29", unit="D")
    cols = ["frequency", "recency", "T", "monetary_value", "frequency_holdout"]
    pd.testing.assert_frame_equal(s[cols], from_file[cols])
    counts = holdout_period_counts(engine, "2024-01-31", "2024-02-29", unit="W")
    assert counts["purchases"].sum() == s["frequency_holdout"].sum()


def test_later_rows_do_not_change_calibration() -> None:
    base = summary_from_transactions(TX, "cust", "day", "amount", "2024-01-31", unit="D")
    later = pd.concat(
        [TX, pd.DataFrame({"cust": ["a", "d"], "day": ["2024-03-01", "2024-02-01"], "amount": [99.0, 5.0]})]
    )
    again = summary_from_transactions(later, "cust", "day", "amount", "2024-01-31", unit="D")
    pd.testing.assert_frame_equal(base, again)


def test_errors_name_the_problem(engine: DuckDBEngine) -> None:
    with pytest.raises(ValidationError, match="orders"):
        summary_sql(engine, "2024-01-31")
    with pytest.raises(ConfigError, match="unit"):
        summary_from_transactions(TX, "cust", "day", "amount", "2024-01-31", unit="fortnight")
    with pytest.raises(ConfigError, match="after calibration_end"):
        summary_from_transactions(TX, "cust", "day", "amount", "2024-01-31", "2024-01-01")
    with pytest.raises(ValidationError, match="'customer'"):
        summary_from_transactions(TX, "customer", "day", "amount", "2024-01-31")


def test_holdout_offsets_count_from_the_calibration_end() -> None:
    # calibration ends Wed 2024-01-31: holdout week 1 is Thu Feb 1 - Wed Feb 7, week 2 Feb 8 - 14
    tx = pd.DataFrame(
        {
            "cust": ["a", "b", "a", "b", "a", "a"],
            "day": ["2024-01-10", "2024-01-11", "2024-02-01", "2024-02-08", "2024-02-09", "2024-02-29"],
        }
    )
    with DuckDBEngine(":memory:") as engine:
        engine.register("t", tx.assign(day=pd.to_datetime(tx["day"])))
        cols = {"table": "t", "customer_col": "cust", "ts_col": "day", "amount_col": None}
        counts = holdout_period_counts(engine, "2024-01-31", "2024-02-29", unit="W", **cols)
        s = summary_sql(engine, "2024-01-31", "2024-02-29", unit="W", **cols)
    # b's Thursday Feb 8 is in week 2 after the cutoff (its Monday week began Feb 5, inside week 1);
    # a's Feb 9 shares a Monday week with nothing else of a's in the holdout: week 2 as well;
    # a's Feb 29, the last day, stays inside the 4-week holdout
    assert dict(zip(counts["offset"], counts["purchases"], strict=True)) == {1: 1, 2: 2, 4: 1}
    assert counts["purchases"].sum() == s["frequency_holdout"].sum() == 4
