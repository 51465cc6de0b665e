"""Normalisation, language detection and tokenisation on small hand-checked inputs."""

from __future__ import annotations

import pandas as pd
import pytest

from crmlens.text.preprocess import add_user_words, detect_language, normalize, tokenize


def test_normalize_folds_width_and_traditional_and_keeps_emoji() -> None:
    assert normalize("這個產品 質量很好！ＯＫ 👍") == "这个产品 质量很好!OK 👍"
    assert normalize("  two   spaces\n") == "two spaces"
    assert normalize(None) == "" and normalize(float("nan")) == ""
    # simplified text is left as it is (fast path)
    assert normalize("物流很快") == "物流很快"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("物流很快，质量不错", "zh"),
        ("發貨太慢了", "zh"),
        ("iPhone 15 的电池不错", "zh"),
        ("The flight was late again", "en"),
        ("great product!!", "en"),
        ("Le vol était en retard et le service est nul", "other"),
        ("Das Essen ist nicht gut", "other"),
        ("こんにちは、世界", "other"),
        ("안녕하세요", "other"),
        ("", "other"),
        ("12345 !!!", "other"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_tokenize_english_negation_stop_words_and_emoticons() -> None:
    assert tokenize("The food was not good at all :(") == ["food", "not", "good_NEG", ":("]
    tokens = tokenize("@united I don't like the seats, but crew was great 😡 http://t.co/x")
    assert tokens == ["@united", "don't", "like_NEG", "seats_NEG", "crew", "great", "😡", "<url>"]
    assert "the" in tokenize("the end", stop_words=False)
    assert tokenize("not good", negation=False) == ["not", "good"]


def test_tokenize_chinese_with_negation_and_user_dictionary() -> None:
    assert tokenize("房间不干净，服务很好") == ["房间", "不", "干净_NEG", "服务", "很", "好"]
    assert "发货" in tokenize("發貨太慢了😡") and "😡" in tokenize("發貨太慢了😡")
    add_user_words(["超级无敌套餐"])
    assert "超级无敌套餐" in tokenize("这个超级无敌套餐很划算")


def test_language_detection_on_real_corpora(shared_data) -> None:
    zh = pd.read_csv(shared_data / "zh_sentiment" / "waimai_10k.csv").sample(300, random_state=0)
    en = pd.read_csv(shared_data / "airline_tweets" / "Tweets.csv").sample(300, random_state=0)
    zh_share = (zh["review"].map(detect_language) == "zh").mean()
    en_share = (en["text"].map(detect_language) == "en").mean()
    assert zh_share >= 0.98, zh_share
    assert en_share >= 0.97, en_share
