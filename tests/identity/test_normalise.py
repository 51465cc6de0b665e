"""Normalised keys: the same person in Chinese characters, pinyin and either name order meets on one key."""

from __future__ import annotations

import pandas as pd
import pytest

from crmlens.identity import name_key, name_parts, normalise_email, normalise_phone
from crmlens.identity.normalise import normalise_date, normalise_text


@pytest.mark.parametrize("name", ["张伟", "Zhang Wei", "Wei Zhang", "ZHANG, Wei", " zhang  wei "])
def test_chinese_and_pinyin_names_share_a_key(name: str) -> None:
    assert name_key(name) == "wei zhang"


def test_compound_surname_and_two_character_given_name() -> None:
    assert name_parts("欧阳娜娜") == ("ouyang", "nana")
    assert name_key("欧阳娜娜") == name_key("Nana Ouyang")
    assert name_key("张纳红") == name_key("Nahong Zhang") != name_key("Nahong Zhao")
    assert name_key(None) is None and name_key("  ") is None


def test_email_phone_date_and_text() -> None:
    assert normalise_email(" Li.Na@QQ.com ") == "li.na@qq.com"
    assert normalise_email("not an email") is None
    assert normalise_phone("138 0013 8000") == normalise_phone("+86 138-0013-8000") == "+8613800138000"
    assert normalise_phone("123") is None
    dates = normalise_date(pd.Series(["19151111", "2001-02-03", None, "19990231"]))
    assert dates.tolist() == ["1915-11-11", "2001-02-03", None, None]
    assert normalise_text("上海市静安区新华路278号") == "shanghaishijinganquxinhualu 278 hao"
    # plain ASCII takes a short path; accents and full-width forms the long one, to the same form
    assert normalise_text("  42  Smith\tStreet ") == "42 smith street"
    assert normalise_text("José Ｓｍｉｔｈ") == "jose smith"
    assert normalise_text("   ") is None
