"""Normalised keys for matching: names in pinyin (so 张伟 meets Zhang Wei), e-mails, phones, dates.

Matching compares these derived keys, never the raw text, so the same person written in Chinese
characters in one system and in pinyin in another lands on the same name key.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pandas as pd

__all__ = [
    "has_han",
    "name_parts",
    "name_key",
    "normalise_text",
    "normalise_email",
    "normalise_phone",
    "normalise_date",
]

_HAN = re.compile(r"[\u3400-\u9fff]")
_HAN_RUN = re.compile(r"[\u3400-\u9fff]+")
_SPLIT = re.compile(r"[\s,.\-_/·'’]+")
_COMPOUND_SURNAMES = {
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐",
    "长孙", "宇文", "司徒", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "百里",
}  # fmt: skip


def has_han(text: str) -> bool:
    """True when the text holds Chinese characters."""
    return bool(_HAN.search(text))


@lru_cache(maxsize=200_000)
def _pinyin(text: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(text, style=Style.NORMAL, errors="ignore")).lower()


def normalise_text(value: object) -> str | None:
    """Lower case, accents folded, Chinese characters written in pinyin, single spaces."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    text = str(value)
    if text.isascii():  # nothing to fold: the common case, four times faster
        return " ".join(text.lower().split()) or None
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None
    if has_han(text):
        text = _HAN_RUN.sub(lambda m: " " + _pinyin(m.group(0)) + " ", text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = re.sub(r"\s+", " ", text.lower()).strip()
    return text or None


@lru_cache(maxsize=200_000)
def name_parts(value: str) -> tuple[str, str]:
    """(surname, given name) in pinyin: 张伟 → (zhang, wei); Latin names keep their order."""
    text = unicodedata.normalize("NFKC", value).strip()
    compact = re.sub(r"\s+", "", text)
    if has_han(compact) and not re.search(r"[A-Za-z]", compact):
        split = 2 if compact[:2] in _COMPOUND_SURNAMES and len(compact) > 2 else 1
        return _pinyin(compact[:split]), _pinyin(compact[split:])
    tokens = [t for t in _SPLIT.split(normalise_text(text) or "") if t]
    if not tokens:
        return "", ""
    if "," in text:  # "Zhang, Wei"
        return tokens[0], "".join(tokens[1:])
    if len(tokens) == 1:
        return tokens[0], ""
    return tokens[-1], "".join(tokens[:-1])


def name_key(value: object) -> str | None:
    """Order-free name key: the pinyin tokens sorted, so "Wei Zhang", "Zhang Wei" and 张伟 agree."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    text = str(value).strip()
    if not text:
        return None
    surname, given = name_parts(text)
    tokens = sorted(t for t in (surname, given) if t)
    return " ".join(tokens) or None


def normalise_email(value: object) -> str | None:
    """Trimmed, lower-cased; anything without one '@' is not an e-mail and becomes null."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    text = str(value).strip().lower()
    if text.count("@") != 1 or text.startswith("@") or text.endswith("@"):
        return None
    return text


def normalise_phone(value: object, region: str = "CN") -> str | None:
    """E.164 when the number parses, else its digits (at least 6), else null."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    text = str(value).strip()
    digits = re.sub(r"\D", "", text)
    if len(digits) < 6:
        return None
    try:
        import phonenumbers

        parsed = phonenumbers.parse(text, region)
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except Exception:  # noqa: BLE001 - an unparsable number falls back to its digits
        pass
    return digits


def normalise_date(series: pd.Series) -> pd.Series:
    """ISO dates (YYYY-MM-DD) as strings; unparsable values become null."""
    if pd.api.types.is_datetime64_any_dtype(series):
        parsed = series
    else:
        text = series.astype("string").str.strip()
        compact = text.str.fullmatch(r"\d{8}").fillna(False)
        parsed = pd.to_datetime(text.where(~compact), errors="coerce", format="mixed")
        if compact.any():
            parsed = parsed.where(
                ~compact, pd.to_datetime(text.where(compact), format="%Y%m%d", errors="coerce")
            )
    out = parsed.dt.strftime("%Y-%m-%d")
    return out.astype(object).where(parsed.notna(), None)
