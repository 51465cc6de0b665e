"""A planted PII set: valid synthetic identifiers, Chinese and international, placed in host texts.

Used to measure detection recall and precision (``crmlens bench privacy``) and in tests. Every
identifier is generated to be valid where the format has a rule (PRC ID checksum and birth
date, Luhn for cards, phone numbers that ``phonenumbers`` accepts); decoys that look like
identifiers but are not (order numbers, amounts, dates, IDs with a wrong check digit) are mixed
in, so false positives count too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["PlantedText", "make_bank_card", "make_prc_id", "planted_corpus"]

_PRC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_PRC_CHECK = "10X98765432"
_REGIONS = ("110105", "310115", "440305", "510107", "330106", "420111", "610113", "210202")


@dataclass
class PlantedText:
    text: str
    planted: list[tuple[str, str]] = field(default_factory=list)  # (kind, value)
    language: str = "en"


def _luhn_digit(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def make_prc_id(rng: np.random.Generator, valid: bool = True) -> str:
    region = _REGIONS[rng.integers(len(_REGIONS))]
    year, month, day = int(rng.integers(1950, 2005)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
    body = f"{region}{year:04d}{month:02d}{day:02d}{int(rng.integers(0, 1000)):03d}"
    check = _PRC_CHECK[sum(int(c) * w for c, w in zip(body, _PRC_WEIGHTS, strict=True)) % 11]
    if not valid:
        check = _PRC_CHECK[(_PRC_CHECK.index(check) + 1 + int(rng.integers(0, 9))) % 11]
    return body + check


def make_bank_card(rng: np.random.Generator, valid: bool = True) -> str:
    prefix, length = [("622202", 19), ("621700", 19), ("4", 16), ("51", 16), ("6011", 16), ("3566", 16)][
        int(rng.integers(6))
    ]
    body = prefix + "".join(str(d) for d in rng.integers(0, 10, length - len(prefix) - 1))
    check = _luhn_digit(body)
    if not valid:
        check = str((int(check) + 1 + int(rng.integers(0, 8))) % 10)
    number = body + check
    if rng.random() < 0.4:
        number = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return number


def _phone(rng: np.random.Generator) -> tuple[str, str]:
    kind = int(rng.integers(6))
    if kind == 0:
        return "zh", f"1{rng.choice(['38', '39', '50', '58', '86', '88'])}{int(rng.integers(0, 10**8)):08d}"
    if kind == 1:
        n = f"{int(rng.integers(0, 10**8)):08d}"
        return "zh", f"+86 139 {n[:4]} {n[4:]}"
    if kind == 2:
        return "en", f"(415) {int(rng.integers(200, 999))}-{int(rng.integers(0, 10000)):04d}"
    if kind == 3:
        return "en", f"+44 20 7946 {int(rng.integers(0, 1000)):04d}"
    if kind == 4:
        return "en", f"+49 30 {int(rng.integers(1000000, 9999999))}"
    return "en", f"+1 212-{int(rng.integers(200, 999))}-{int(rng.integers(0, 10000)):04d}"


def _email(rng: np.random.Generator) -> str:
    user = rng.choice(
        ["zhang.wei", "li_na", "wang.fang88", "john.smith", "m.garcia", "anna-k", "chen_jie2020"]
    )
    domain = rng.choice(
        ["qq.com", "163.com", "gmail.com", "example.co.uk", "corp.example.cn", "mail.example.de"]
    )
    return f"{user}{int(rng.integers(0, 100))}@{domain}"


def _ip(rng: np.random.Generator) -> str:
    if rng.random() < 0.7:
        return ".".join(str(int(x)) for x in [rng.integers(1, 224), *rng.integers(0, 256, 3)])
    return (
        "2001:db8:"
        + ":".join(f"{int(x):x}" for x in rng.integers(0, 65536, 3))
        + "::"
        + f"{int(rng.integers(1, 999)):x}"
    )


def _passport(rng: np.random.Generator) -> tuple[str, str]:
    if rng.random() < 0.5:
        return "护照号码", f"E{int(rng.integers(0, 10**8)):08d}"
    letters = "ABCDFGHJKLMNPRSTXYZ"
    return "passport no.", f"{letters[int(rng.integers(len(letters)))]}{int(rng.integers(10**6, 10**7)):07d}"


_ZH = [
    "客户来电说{x}，请尽快处理。",
    "我的联系方式是{x}，有问题随时找我。",
    "订单有问题，{x}，谢谢！",
    "麻烦核对一下{x}这个信息。",
]
_EN = [
    "Please contact me at {x} about the refund.",
    "Customer says {x} and wants a call back.",
    "Updated details: {x}. Thanks!",
    "Hi, my details are {x}, the order never arrived.",
]
_DECOYS = [
    "订单号 {order} 金额 {amount} 元，下单时间 {date}。",
    "Order #{order} of {amount} USD placed on {date} at 12:30:45.",
    "Tracking number {order}, version 2.3.1, qty 3.",
    "参考编号 {bad_id}，请勿回复。",
    "Ref {bad_card} is a voucher code, not a card.",
]


def planted_corpus(n: int = 1000, seed: int = 0, hosts: Sequence[str] = ()) -> list[PlantedText]:
    """``n`` texts, about four in five with one or two planted identifiers and the rest decoys only.

    ``hosts`` (real reviews or tickets) are prefixed to the texts, so detection runs on real
    surrounding language; the planted truth is exact either way.
    """
    rng = np.random.default_rng(seed)
    out: list[PlantedText] = []
    for i in range(n):
        host = hosts[int(rng.integers(len(hosts)))].replace("\n", " ")[:200] + " " if hosts else ""
        if rng.random() < 0.2:
            template = _DECOYS[int(rng.integers(len(_DECOYS)))]
            text = template.format(
                order=f"{int(rng.integers(10**11, 10**14))}",
                amount=f"{rng.uniform(1, 9999):.2f}",
                date=f"2024-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}",
                bad_id=make_prc_id(rng, valid=False),
                bad_card=make_bank_card(rng, valid=False).replace(" ", ""),
            )
            out.append(PlantedText(host + text, [], "zh" if "号" in template else "en"))
            continue
        planted: list[tuple[str, str]] = []
        parts: list[str] = []
        language = "zh" if rng.random() < 0.5 else "en"
        for _ in range(1 + int(rng.random() < 0.4)):
            kind = ["prc_id", "bank_card", "phone", "email", "ip", "passport"][
                i % 6 if not planted else int(rng.integers(6))
            ]
            if kind == "prc_id":
                value = make_prc_id(rng)
                label = "身份证号" if language == "zh" else "ID number"
            elif kind == "bank_card":
                value = make_bank_card(rng)
                label = "银行卡" if language == "zh" else "card"
            elif kind == "phone":
                lang, value = _phone(rng)
                label = "手机" if lang == "zh" else "phone"
            elif kind == "email":
                value = _email(rng)
                label = "邮箱" if language == "zh" else "email"
            elif kind == "ip":
                value = _ip(rng)
                label = "登录IP" if language == "zh" else "login IP"
            else:
                label, value = _passport(rng)
            planted.append((kind, value))
            parts.append(f"{label} {value}")
        joiner = "，" if language == "zh" else ", "
        templates = _ZH if language == "zh" else _EN
        text = templates[int(rng.integers(len(templates)))].format(x=joiner.join(parts))
        out.append(PlantedText(host + text, planted, language))
    return out
