from __future__ import annotations

import pandas as pd
import pytest

from crmlens.exceptions import ConfigError, ValidationError
from crmlens.support import FaqIndex, evaluate_faq, load_faq_index

FAQ = pd.DataFrame(
    {
        "faq_id": ["refund", "refund", "track", "password", "退款", "物流"],
        "question": [
            "How do I get a refund?",
            "Can I get my money back?",
            "Where is my parcel? How can I track my order?",
            "I forgot my password, how do I reset it?",
            "怎么申请退款？",
            "我的快递到哪里了？怎么查物流？",
        ],
        "answer": [
            "Refunds go back to the original card within 5 working days.",
            "Refunds go back to the original card within 5 working days.",
            "Use the tracking link in your shipping e-mail.",
            "Choose 'Forgot password' on the login page.",
            "在订单页面点击“申请退款”，款项将在5个工作日内退回。",
            "在订单详情页可以查看物流信息。",
        ],
    }
)


def test_bm25_answers_english_and_chinese_and_groups_phrasings():
    index = FaqIndex(use_embeddings=False, min_score=0.3).fit(FAQ)
    assert len(index.entries_) == 5  # the two refund phrasings are one entry
    assert index.ask("I want my money back")[0].faq_id == "refund"
    assert index.ask("how can I reset my password")[0].faq_id == "password"
    top = index.ask("我想申请退款")[0]
    assert top.faq_id == "退款" and top.answered and 0 < top.score <= 1
    assert index.ask("物流信息在哪里查")[0].faq_id == "物流"
    nothing = index.ask("what is the weather in Paris")[0]
    assert not nothing.answered and nothing.score == 0
    assert index.best_answer("what is the weather in Paris") is None


def test_lexical_score_is_share_of_query_covered():
    index = FaqIndex(use_embeddings=False).fit(FAQ)
    exact = index.ask("I forgot my password, how do I reset it?")[0]
    partial = index.ask("I forgot my password and my umbrella and my keys")[0]
    assert exact.faq_id == partial.faq_id == "password"
    assert exact.lexical > 0.8 > partial.lexical > 0


def test_save_load_round_trip(tmp_path):
    index = FaqIndex(use_embeddings=False, min_score=0.3).fit(FAQ)
    index.save(tmp_path / "idx")
    again = load_faq_index(tmp_path / "idx")
    questions = ["refund please", "怎么查物流", "reset password"]
    assert [m.to_dict() for m in again.ask_many(questions)[0]] == [
        m.to_dict() for m in index.ask_many(questions)[0]
    ]
    assert not list((tmp_path / "idx").glob("*.pkl"))
    with pytest.raises(ConfigError, match="no FAQ index"):
        load_faq_index(tmp_path / "missing")


def test_missing_column_names_it():
    with pytest.raises(ValidationError, match="'answer'"):
        FaqIndex(use_embeddings=False).fit(FAQ.drop(columns="answer"))


def _banking_faq(banking):  # noqa: ANN001, ANN202
    train = pd.DataFrame({"question": banking["train_x"], "faq_id": banking["train_y"]})
    entries = train.groupby("faq_id", sort=True).head(5)
    rest = train.drop(index=entries.index)
    return entries.assign(answer=entries["faq_id"]), rest


def test_bm25_retrieval_quality_on_banking_intents(banking):
    faq, rest = _banking_faq(banking)
    index = FaqIndex(use_embeddings=False).fit(faq)
    scores = evaluate_faq(index, banking["test_x"], banking["test_y"])
    # 12 entries: chance recall@3 is 0.25
    assert scores["recall_at_3"] >= 0.6
    index.calibrate(rest["question"].tolist(), rest["faq_id"].tolist(), target_precision=0.9)
    calibrated = evaluate_faq(index, banking["test_x"], banking["test_y"])
    assert calibrated["answer_rate"] > 0 and calibrated["answered_precision"] >= 0.75


@pytest.mark.neural
def test_hybrid_beats_bm25_on_banking_intents(banking):
    faq, _ = _banking_faq(banking)
    bm25 = evaluate_faq(FaqIndex(use_embeddings=False).fit(faq), banking["test_x"], banking["test_y"])
    hybrid = evaluate_faq(FaqIndex(use_embeddings=True).fit(faq), banking["test_x"], banking["test_y"])
    assert hybrid["recall_at_1"] >= bm25["recall_at_1"] + 0.05
    assert hybrid["recall_at_3"] >= 0.85


@pytest.mark.neural
def test_index_from_another_encoder_is_re_embedded_on_load(tmp_path):
    import json

    import numpy as np

    folder = FaqIndex(use_embeddings=True).fit(FAQ).save(tmp_path / "faq")
    fresh = np.load(folder / "embeddings.npy")
    np.save(folder / "embeddings.npy", np.zeros_like(fresh))
    meta = json.loads((folder / "index.json").read_text())
    meta["encoder"] = "all-MiniLM-L6-v2/float32"
    (folder / "index.json").write_text(json.dumps(meta))
    again = load_faq_index(folder)
    assert np.allclose(again.embeddings_, fresh)
    assert again.ask("how can I get my money back")[0].faq_id == "refund"
