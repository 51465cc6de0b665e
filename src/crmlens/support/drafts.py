"""Reply drafts an agent can send or edit: a fixed template, the FAQ answer, the customer's details.

A draft is assembled from three sources only: the template text of this module (greetings and
linking sentences, which state no facts), the matched FAQ answer verbatim, and fields of the
customer profile (name, last order id, date and status). A sentence whose fields are missing is
left out rather than guessed, so a draft can never state a fact that is in neither the FAQ nor
the profile. Without a confident FAQ answer there is no draft: the ticket goes to a person.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

__all__ = ["TEMPLATES", "Draft", "draft_reply", "template_vocabulary"]

# One template set per language. Placeholders: {name}, {topic}, {answer}, {order_id}, {order_date},
# {order_status}. Each optional sentence is used only when every field it names is known.
TEMPLATES: dict[str, dict[str, str]] = {
    "en": {
        "greeting_named": "Hi {name},",
        "greeting": "Hello,",
        "opening": "Thank you for contacting us about {topic}.",
        "opening_plain": "Thank you for contacting us.",
        "answer_intro": "Here is what our help centre says:",
        "order_full": "Your most recent order {order_id} from {order_date} is {order_status}.",
        "order_no_status": "Your most recent order is {order_id} from {order_date}.",
        "order_id_only": "Your most recent order is {order_id}.",
        "closing": "If this does not solve it, just reply to this message and a colleague will help.",
        "signature": "Kind regards,\nCustomer Support",
    },
    "zh": {
        "greeting_named": "{name}，您好：",
        "greeting": "您好：",
        "opening": "感谢您就{topic}联系我们。",
        "opening_plain": "感谢您联系我们。",
        "answer_intro": "以下是帮助中心的说明：",
        "order_full": "您最近的订单 {order_id}（{order_date}）当前状态为：{order_status}。",
        "order_no_status": "您最近的订单是 {order_id}（{order_date}）。",
        "order_id_only": "您最近的订单是 {order_id}。",
        "closing": "如果问题仍未解决，请直接回复本消息，我们的同事会继续为您处理。",
        "signature": "客服中心",
    },
}

# Order-related intents (by substring) get the order sentence; others do not need it.
_ORDER_HINTS = (
    "order",
    "deliver",
    "ship",
    "refund",
    "return",
    "arriv",
    "track",
    "订单",
    "物流",
    "退",
    "发货",
)


@dataclass(frozen=True)
class Draft:
    """A reply draft and where each of its parts came from."""

    text: str
    language: str
    faq_id: str | None
    fields_used: dict[str, str] = field(default_factory=dict)


def _known(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        try:
            return value.to_pydatetime().date().isoformat()
        except ValueError:
            return None
    text = str(value).strip()
    return text or None


def _topic(intent: str, language: str) -> str:
    words = str(intent).replace("_", " ").replace("-", " ").strip()
    return words if language == "en" else f"“{words}”"


def draft_reply(
    intent: str,
    answer: str | None,
    profile: Mapping[str, Any] | None = None,
    language: str = "en",
    faq_id: str | None = None,
) -> Draft | None:
    """Assemble a draft from the template, the FAQ ``answer`` and the ``profile``; None without an answer.

    ``profile`` may hold ``name`` (or ``first_name``), ``last_order_id``, ``last_order_date`` and
    ``order_status``; missing fields drop their sentence.

    Examples
    --------
    >>> print(draft_reply("card_arrival", "Cards arrive within 5 working days.", {"name": "Ana"}).text)
    Hi Ana,
    <BLANKLINE>
    Thank you for contacting us about card arrival.
    Here is what our help centre says:
    Cards arrive within 5 working days.
    <BLANKLINE>
    If this does not solve it, just reply to this message and a colleague will help.
    <BLANKLINE>
    Kind regards,
    Customer Support
    """
    answer = _known(answer)
    if not answer:
        return None
    lang = language if language in TEMPLATES else "en"
    t = TEMPLATES[lang]
    profile = profile or {}
    used: dict[str, str] = {}
    name = _known(profile.get("first_name")) or _known(profile.get("name"))
    if name:
        used["name"] = name
    order_id = _known(profile.get("last_order_id"))
    order_date = _known(profile.get("last_order_date"))
    status = _known(profile.get("order_status"))

    lines = [t["greeting_named"].format(name=name) if name else t["greeting"], ""]
    # a Chinese reply names the topic only when the intent label is Chinese (not "refund" in a 中文 reply)
    named = lang == "en" or re.search(r"[\u3400-\u9fff]", str(intent))
    lines.append(t["opening"].format(topic=_topic(intent, lang)) if named else t["opening_plain"])
    lines.append(t["answer_intro"])
    lines.append(answer)
    if order_id and any(h in str(intent).lower() for h in _ORDER_HINTS):
        used["last_order_id"] = order_id
        if order_date and status:
            lines.append(
                t["order_full"].format(order_id=order_id, order_date=order_date, order_status=status)
            )
            used |= {"last_order_date": order_date, "order_status": status}
        elif order_date:
            lines.append(t["order_no_status"].format(order_id=order_id, order_date=order_date))
            used["last_order_date"] = order_date
        else:
            lines.append(t["order_id_only"].format(order_id=order_id))
    lines += ["", t["closing"], "", t["signature"]]
    return Draft(text="\n".join(lines), language=lang, faq_id=faq_id, fields_used=used)


def template_vocabulary(language: str = "en") -> str:
    """All fixed template text of a language (placeholders removed): the words a draft may add."""
    return " ".join(re.sub(r"\{[a-z_]+\}", " ", s) for s in TEMPLATES[language].values())
