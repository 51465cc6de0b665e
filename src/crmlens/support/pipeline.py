"""Warehouse mode in one call: tickets in, ``ticket_triage`` out, analytics for the report.

:func:`run_support` reads the canonical ``tickets`` (and, when present, ``customers`` and
``orders``) tables, learns intents from the tickets that already carry a ``category``, indexes the
company FAQ (or the small bilingual starter FAQ below), triages every ticket and writes the
``ticket_triage`` table. The starter FAQ covers common e-commerce intents; its answers state
policy in general terms only, so a company should replace it with its own (``support.faq`` in
``crmlens.yaml``: a CSV with question, answer[, language][, faq_id]).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from crmlens.exceptions import ValidationError
from crmlens.support.analytics import ticket_analytics
from crmlens.support.faq import FaqIndex
from crmlens.support.intents import IntentClassifier
from crmlens.support.routing import SupportConfig
from crmlens.support.triage import build_profiles, ticket_text, triage

__all__ = ["STARTER_FAQ", "run_support", "starter_faq"]

# (faq_id, language, question, answer)
STARTER_FAQ: list[tuple[str, str, str, str]] = [
    ("delivery_delay", "en", "Where is my order? My package has not arrived.",
     "You can follow your parcel with the tracking link in your order confirmation. If tracking has not "
     "changed for several days, reply to this message and we will contact the carrier for you."),
    ("delivery_delay", "en", "My order has not shipped yet, when will it ship?",
     "You can follow your parcel with the tracking link in your order confirmation. If tracking has not "
     "changed for several days, reply to this message and we will contact the carrier for you."),
    ("delivery_delay", "zh", "我的订单还没发货，快递一直不动怎么办？",
     "您可以在订单详情页查看物流信息。如果物流长时间没有更新，请回复本消息，我们会帮您联系快递公司。"),
    ("delivery_delay", "zh", "物流信息没有更新，还没收到货，什么时候能到？",
     "您可以在订单详情页查看物流信息。如果物流长时间没有更新，请回复本消息，我们会帮您联系快递公司。"),
    ("product_defect", "en", "The item arrived damaged or stopped working. Can I get a replacement?",
     "We are sorry about that. Please reply with a photo of the problem and we will arrange a replacement "
     "or a return."),
    ("product_defect", "zh", "收到的商品坏了、有质量问题，可以换货吗？",
     "非常抱歉。请回复商品问题的照片，我们会为您安排换货或退货。"),
    ("product_defect", "zh", "商品有破损、有瑕疵，用了一次就坏了，和描述不符。",
     "非常抱歉。请回复商品问题的照片，我们会为您安排换货或退货。"),
    ("product_defect", "en", "The product is defective, has visible defects or does not match the description.",
     "We are sorry about that. Please reply with a photo of the problem and we will arrange a replacement "
     "or a return."),
    ("refund", "en", "How do I get a refund? My refund has not been received.",
     "Refunds are paid back to the original payment method once the return is approved. You can see the "
     "refund status on your order page."),
    ("refund", "zh", "怎么申请退款？退款还没到账。",
     "退货审核通过后，退款会原路退回到您的支付账户。您可以在订单页查看退款进度。"),
    ("refund", "zh", "不想要了，要求退货退款。",
     "退货审核通过后，退款会原路退回到您的支付账户。您可以在订单页查看退款进度。"),
    ("refund", "en", "I would like to return the item and get my money back.",
     "Refunds are paid back to the original payment method once the return is approved. You can see the "
     "refund status on your order page."),
    ("invoice", "en", "How do I get an invoice for my order? The invoice details are wrong.",
     "You can download or correct the invoice of an order on the order page under Invoice."),
    ("invoice", "zh", "怎么开发票？发票抬头写错了能重开吗？",
     "您可以在订单页的“发票”栏下载或修改发票信息。"),
    ("change_address", "en", "How do I change the delivery address of my order?",
     "You can change the address on the order page until the order ships."),
    ("change_address", "zh", "订单的收货地址填错了，怎么修改？",
     "订单发货前，您可以在订单页修改收货地址。"),
    ("change_address", "zh", "我搬家了，想更换配送地址。",
     "订单发货前，您可以在订单页修改收货地址。"),
    ("account_login", "en", "I cannot log in to my account or do not receive the verification code.",
     "Use 'Forgot password' on the login page to set a new password. If the code does not arrive, check "
     "that your phone number in the account is correct."),
    ("account_login", "zh", "账号登录不上，收不到验证码怎么办？",
     "请在登录页点击“忘记密码”重新设置密码。如果收不到验证码，请确认账号绑定的手机号是否正确。"),
]  # fmt: skip


def starter_faq() -> pd.DataFrame:
    """The starter FAQ as a frame (``faq_id``, ``language``, ``question``, ``answer``)."""
    return pd.DataFrame(STARTER_FAQ, columns=["faq_id", "language", "question", "answer"])


def _read_faq(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise ValidationError(
            f"support.faq: {path} not found; point it at a CSV with question and answer columns"
        )
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def _tickets(engine: Any) -> pd.DataFrame:
    """The tickets in table order, with the ``sentiment`` in [-1, 1] that the build stored for each
    (``text_sentiment``), so that urgency weighs it without scoring the texts again."""
    columns = set(engine.columns("tickets"))
    if (
        "sentiment" in columns
        or not engine.has_table("text_sentiment")
        or not {"source", "ticket_id"} <= columns
    ):
        return engine.query("SELECT * FROM tickets").to_pandas()
    return engine.query(
        "SELECT t.* EXCLUDE (__row), s.sentiment_score AS sentiment "
        "FROM (SELECT rowid AS __row, * FROM tickets) t LEFT JOIN text_sentiment s "
        "ON s.source_table = 'tickets' AND s.source = t.source AND s.text_id = CAST(t.ticket_id AS VARCHAR) "
        "ORDER BY t.__row"
    ).to_pandas()


def run_support(
    engine: Any,
    config: SupportConfig | dict[str, Any] | None = None,
    method: str = "tfidf",
    seed: int = 0,
    write: bool = True,
) -> dict[str, Any]:
    """Triage every ticket of the warehouse and compute the ticket analytics.

    Reads ``tickets`` (required), ``customers`` and ``orders`` (optional) from ``engine``; trains an
    :class:`IntentClassifier` (``method``) on tickets with a ``category``; indexes ``support.faq``
    (or :func:`starter_faq`); writes ``ticket_triage`` (see :data:`TRIAGE_COLUMNS`) unless ``write``
    is False. Returns ``{"triage": frame, "analytics": dict of frames, "model": fitted model,
    "metrics": out-of-fold accuracy and automation rate}``.
    """
    cfg = config if isinstance(config, SupportConfig) else SupportConfig.from_mapping(config)
    if not engine.has_table("tickets"):
        raise ValidationError("support: the warehouse has no 'tickets' table; load a tickets source first")
    tickets = _tickets(engine)
    if "category" not in tickets.columns or tickets["category"].nunique() < 2:
        raise ValidationError(
            "support: intents are learnt from tickets with a 'category'; fewer than two categories found"
        )
    labelled = tickets.dropna(subset=["category"])
    model = IntentClassifier(model=method, target_precision=cfg.target_precision, random_state=seed)
    model.fit(ticket_text(labelled), labelled["category"].astype(str))
    faq = _read_faq(cfg.faq) if cfg.faq else starter_faq()
    index = FaqIndex(use_embeddings=method in ("embed", "ensemble", "auto")).fit(faq)
    customers = engine.query("SELECT * FROM customers").to_pandas() if engine.has_table("customers") else None
    orders = engine.query("SELECT * FROM orders").to_pandas() if engine.has_table("orders") else None
    profiles = build_profiles(customers, orders)
    result = triage(tickets, model, index, profiles, config=cfg)
    if write:
        engine.write_table("ticket_triage", result)
    joined = tickets.reset_index(drop=True).assign(
        intent=result["intent"], queue=result["queue"], urgency_level=result["urgency_level"]
    )
    metrics = {
        "accuracy": float(model.oof_correct_.mean()) if len(model.oof_correct_) else float("nan"),
        "automation_rate": float(result["automated"].mean()) if len(result) else 0.0,
        "drafts": int(result["draft"].notna().sum()),
        "tickets": len(result),
    }
    return {"triage": result, "analytics": ticket_analytics(joined), "model": model, "metrics": metrics}
