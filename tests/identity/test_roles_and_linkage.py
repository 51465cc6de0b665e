"""Column roles guessed from headers and values; clustering honours never-link; golden-record rules."""

from __future__ import annotations

import pandas as pd
import pytest

from crmlens.exceptions import ConfigError
from crmlens.identity import golden_records, guess_roles, identity_options
from crmlens.identity.linkage import RecordLinker


def test_roles_from_headers_and_from_values() -> None:
    frame = pd.DataFrame(
        {
            "rec_id": ["r1", "r2"],
            "given_name": ["li", "wang"],
            "surname": ["na", "fang"],
            "street_number": ["12", "7"],
            "address_1": ["stanley street", "main road"],
            "date_of_birth": ["19151111", "19800101"],
            "soc_sec_id": ["5304218", "4066625"],
            "col_a": ["a@b.com", "c@d.org"],
            "col_b": ["+86 138 0013 8000", "+86 139 0013 8000"],
        }
    )
    roles = guess_roles(frame, id_col="rec_id", overrides={"surname": "surname"})
    assert roles == {
        "given_name": "given_name",
        "surname": "surname",
        "street_number": "number",
        "address_1": "address",
        "date_of_birth": "birth_date",
        "soc_sec_id": "id",
        "col_a": "email",
        "col_b": "phone",
    }
    with pytest.raises(ConfigError, match="nope"):
        guess_roles(frame, overrides={"nope": "name"})
    with pytest.raises(ConfigError, match="not one of"):
        guess_roles(frame, overrides={"col_a": "colour"})


def test_never_link_holds_even_through_a_third_record() -> None:
    linker = RecordLinker({"email": "email"}, threshold=0.5)
    det = pd.DataFrame({"uid_l": [0, 1], "uid_r": [1, 2], "rule": ["same_email", "same_phone"]})
    pairs = pd.DataFrame({"uid_l": [2], "uid_r": [3], "match_probability": [0.97]})
    joined = linker._cluster(4, det, pairs, must_link=[], never_link=[])
    assert joined["cluster"].nunique() == 1
    split = linker._cluster(4, det, pairs, must_link=[], never_link=[(0, 2)])
    assert split.loc[0, "cluster"] != split.loc[2, "cluster"]
    assert split.loc[2, "cluster"] == split.loc[3, "cluster"]
    assert split.loc[3, "match_rule"] == "splink" and split.loc[3, "match_probability"] == pytest.approx(0.97)


def test_golden_record_by_survivorship_rules() -> None:
    records = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2],
            "source": ["shop", "crm", "crm2", "shop"],
            "customer_key": ["m1", "c1", "x1", "m2"],
            "name": ["Li Na", "李娜", None, "Wang Fang"],
            "email": ["new@x.com", "old@x.com", None, None],
            "signup_at": pd.to_datetime(["2024-05-01", "2021-01-01", "2023-01-01", "2025-01-01"]),
            "updated_at": pd.to_datetime(["2025-06-01", "2022-01-01", "2026-01-01", None]),
            "consent_marketing": [False, True, None, True],
        }
    )
    golden = golden_records(
        records, survivorship={"email": ["most_recent"]}, source_priority=["crm", "shop"]
    ).set_index("customer_id")
    assert golden.loc[1, "name"] == "李娜"  # source priority
    assert golden.loc[1, "email"] == "new@x.com"  # most recent record that has one
    assert golden.loc[1, "signup_at"] == pd.Timestamp("2021-01-01")  # earliest
    assert not golden.loc[1, "consent_marketing"]  # latest statement wins
    assert golden.loc[1, "n_sources"] == 3 and golden.loc[2, "n_sources"] == 1
    with pytest.raises(ConfigError, match="survivorship"):
        golden_records(records, survivorship={"name": ["loudest"]})


def test_identity_options_name_the_key(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "never.csv").write_text("a,b\ncrm:C1,shop:M1\n", encoding="utf-8")
    options = identity_options(
        {"threshold": 0.8, "never_link": "never.csv", "must_link": [["C2", "M2"]]}, tmp_path
    )
    assert options == {"threshold": 0.8, "never_link": [("crm:C1", "shop:M1")], "must_link": [("C2", "M2")]}
    with pytest.raises(ConfigError, match="identity.threshold"):
        identity_options({"threshold": 2})
    with pytest.raises(ConfigError, match="unknown"):
        identity_options({"treshold": 0.5})
