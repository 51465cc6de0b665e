import numpy as np
import pandas as pd
import pytest

from crmlens.exceptions import ConfigError, ValidationError
from crmlens.predict.frame import check_column, clean_frame, encode_target, guess_id_columns, read_table


def test_clean_frame_blanks_numbers_and_empty_columns():
    raw = pd.DataFrame(
        {"total": ["1.5", " ", "3"], "city": [" Oslo", "Rome ", None], "Unnamed: 9": [None] * 3}
    )
    out, notes = clean_frame(raw)
    assert "Unnamed: 9" not in out.columns
    assert out["total"].dtype == np.float64 and np.isnan(out["total"][1]) and out["total"][2] == 3.0
    assert out["city"].tolist()[:2] == ["Oslo", "Rome"]
    assert any("total" in n and "blank" in n for n in notes)


@pytest.mark.parametrize(
    ("values", "positive", "expected"),
    [
        (["Yes", "No", "No"], "Yes", [1, 0, 0]),
        (["no", "yes", "no"], "yes", [0, 1, 0]),
        ([0, 1, 1], "1", [0, 1, 1]),
        (["stay", "left", "stay"], "left", [0, 1, 0]),
    ],
)
def test_encode_target_positive_class(values, positive, expected):
    y, pos = encode_target(pd.Series(values), "t")
    assert pos == positive and y.tolist() == expected


def test_encode_target_refuses_three_classes_and_missing():
    with pytest.raises(ValidationError, match="exactly two"):
        encode_target(pd.Series(["a", "b", "c"]), "t")
    with pytest.raises(ValidationError, match="missing"):
        encode_target(pd.Series(["Yes", None, "No"]), "t")


def test_guess_ids_and_column_errors():
    frame = pd.DataFrame(
        {"customerID": [f"c{i}" for i in range(50)], "age": np.arange(50) % 7, "x": np.arange(50.0)}
    )
    assert guess_id_columns(frame) == ["customerID"]
    with pytest.raises(ConfigError, match="--target 'churn'.*did you mean 'Churn'"):
        check_column(pd.DataFrame({"Churn": [1]}), "churn", "--target")


def test_shared_files_quirks(shared_data):
    telco, _ = clean_frame(read_table(shared_data / "telco_churn" / "WA_Fn-UseC_-Telco-Customer-Churn.csv"))
    assert telco["TotalCharges"].dtype == np.float64 and telco["TotalCharges"].isna().sum() == 11
    leads, _ = clean_frame(read_table(shared_data / "leads" / "Leads.csv"))
    assert "Unnamed: 37" not in leads.columns and "Converted" in leads.columns
    bank = read_table(shared_data / "bank_marketing" / "bank.csv")
    assert {"duration", "y"} <= set(bank.columns) and len(bank) == 4521
