"""Find personal identifiers in column names, values and free text, Chinese and international.

Detection is rule-based on purpose: identifiers have formats with checksums (PRC resident ID,
bank cards by Luhn), phone numbers are parsed and validated by ``phonenumbers`` (Google's
libphonenumber metadata), IP addresses by :mod:`ipaddress`. Checksums keep order numbers, amounts
and dates from being flagged; overlapping hits are resolved by a fixed priority, so an 18-digit
ID is never also reported as a card or a phone.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import phonenumbers

from crmlens.engine.base import Engine

__all__ = [
    "PII_KINDS",
    "PiiMatch",
    "column_hint",
    "find_pii",
    "is_token",
    "luhn_valid",
    "prc_id_valid",
    "scan_table",
    "scan_values",
    "scan_warehouse",
    "scrub_text",
]

# Kinds, in the priority used when two hits overlap (first wins).
PII_KINDS = ("prc_id", "bank_card", "email", "ip", "phone", "passport", "name", "address")

TOKEN_RE = re.compile(r"^pz_[0-9a-f]{32}$")

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![A-Za-z0-9_-])"
)
_PRC_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-8]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
_CARD = re.compile(r"(?<![\d-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\d-])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])")
# Chinese passports (E + 8 digits, E + letter + 7 digits, G + 8 digits) stand alone; other
# passport-like ids (1-2 letters + 6-9 digits) only count next to a word that says passport.
_PASSPORT_CN = re.compile(r"(?<![0-9A-Za-z])(?:E\d{8}|E[A-HJ-NP-Z]\d{7}|G\d{8})(?![0-9A-Za-z])")
_PASSPORT_CUE = re.compile(
    r"(?:passport|pasaporte|passeport|reisepass|travel document|护照|護照|旅行证件)[^A-Za-z0-9]{0,20}"
    r"(?:no\.?|number|nr\.?|号码?|號碼?)?[^A-Za-z0-9]{0,5}([A-Z]{1,2}\d{6,9})(?![0-9A-Za-z])",
    re.IGNORECASE,
)
_NAME_CUE = re.compile(
    r"(?i:my name is|name:|call me)\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2})"
    r"|(?:我叫|我的名字是|姓名[:：]?\s*|联系人[:：]?\s*|收件人[:：]?\s*)([\u4e00-\u9fa5]{2,4})(?=[，。,.!！\s]|$|[\u4e00-\u9fa5])",
)
_ADDRESS = re.compile(
    r"(?:[\u4e00-\u9fa5]{2,8}(?:省|自治区))?(?:[\u4e00-\u9fa5]{2,8}市)?(?:[\u4e00-\u9fa5]{1,8}(?:区|县))?"
    r"[\u4e00-\u9fa5]{1,10}(?:路|街|大道|巷|弄)[0-9一二三四五六七八九十百]{1,5}号(?:[0-9一二三四五六七八九十]+(?:楼|栋|室|单元))*"
    r"|\b\d{1,5}\s+(?:[A-Za-z]+\s+){1,3}(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|court|ct"
    r"|way|place|pl|crescent|cres|terrace|highway|hwy)\b",
    re.IGNORECASE,
)
_ADDRESS_LEAD = re.compile(r"^(?:我|请|麻烦)?(?:住在|住址是|地址是|地址|位于|寄到|送到|发到|家在|在)")
_PHONE_CANDIDATE = re.compile(r"(?<![A-Za-z0-9])(?:\+\s?|\(\s?)?\d[\d \t().\-/]{5,60}\d(?![0-9])")
_PRC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_PRC_CHECK = "10X98765432"


@dataclass(frozen=True)
class PiiMatch:
    """One identifier found in a text: its kind, where it is, and the text it covers."""

    kind: str
    start: int
    end: int
    value: str


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) check every payment card number carries."""
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) < 2:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Issuer prefixes and lengths (Visa, Mastercard, Amex, UnionPay, Discover, JCB, Diners): a Luhn-valid
# number outside them is more likely an order or tracking number than a card.
_CARD_SHAPES = (
    (re.compile(r"^4"), (16, 19)),
    (re.compile(r"^(5[1-5]|2(2[2-9]|[3-6]\d|7[01]|720))"), (16,)),
    (re.compile(r"^3[47]"), (15,)),
    (re.compile(r"^62"), (16, 17, 18, 19)),
    (re.compile(r"^(6011|64[4-9]|65)"), (16, 19)),
    (re.compile(r"^35(2[89]|[3-8]\d)"), (16, 19)),
    (re.compile(r"^3(0[0-5]|[68])"), (14, 16)),
)


def _card_shape(digits: str) -> bool:
    return any(p.match(digits) and len(digits) in lengths for p, lengths in _CARD_SHAPES)


def prc_id_valid(number: str) -> bool:
    """An 18-character PRC resident ID: real birth date and the ISO 7064 MOD 11-2 check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > date.today():
        return False
    total = sum(int(c) * w for c, w in zip(number[:17], _PRC_WEIGHTS, strict=True))
    return _PRC_CHECK[total % 11] == number[17].upper()


def _ip_valid(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def _raw_matches(text: str, regions: Sequence[str]) -> list[PiiMatch]:
    found: list[PiiMatch] = []
    for m in _PRC_ID.finditer(text):
        if prc_id_valid(m.group()):
            found.append(PiiMatch("prc_id", m.start(), m.end(), m.group()))
    for m in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        if _card_shape(digits) and luhn_valid(digits):
            found.append(PiiMatch("bank_card", m.start(), m.end(), m.group()))
    found += [PiiMatch("email", m.start(), m.end(), m.group()) for m in _EMAIL.finditer(text)]
    for pattern in (_IPV4, _IPV6):
        for m in pattern.finditer(text):
            if m.group().count(":") != 1 and _ip_valid(m.group()):
                found.append(PiiMatch("ip", m.start(), m.end(), m.group()))
    # libphonenumber's matcher is the slow part: run it only on the digit runs that could hold a number.
    for candidate in _PHONE_CANDIDATE.finditer(text):
        pending = {i for i, c in enumerate(candidate.group()) if c.isdigit()}
        if len(pending) < 7:  # no phone number has fewer digits (prices, short dates)
            continue
        # a few characters past the run keep libphonenumber's own context checks (timestamps "...22:28")
        base = candidate.start()
        span = text[base : candidate.end() + 3]
        for region in regions:
            for pm in phonenumbers.PhoneNumberMatcher(span, region, leniency=phonenumbers.Leniency.VALID):
                found.append(PiiMatch("phone", base + pm.start, base + pm.end, pm.raw_string))
                pending -= set(range(pm.start, pm.end))
            if not pending:  # every digit of the run is in a number already: other regions add nothing
                break
    found += [PiiMatch("passport", m.start(), m.end(), m.group()) for m in _PASSPORT_CN.finditer(text)]
    found += [PiiMatch("passport", m.start(1), m.end(1), m.group(1)) for m in _PASSPORT_CUE.finditer(text)]
    for m in _NAME_CUE.finditer(text):
        g = 1 if m.group(1) else 2
        found.append(PiiMatch("name", m.start(g), m.end(g), m.group(g)))
    for m in _ADDRESS.finditer(text):
        lead = _ADDRESS_LEAD.match(m.group())
        skip = lead.end() if lead else 0
        found.append(PiiMatch("address", m.start() + skip, m.end(), m.group()[skip:]))
    return found


def find_pii(
    text: str, regions: Sequence[str] = ("CN", "US", "GB"), known: Iterable[str] = ()
) -> list[PiiMatch]:
    """Every identifier in ``text``, non-overlapping, in order of position.

    ``regions`` are the countries whose national phone formats are recognised (numbers written
    with ``+`` and a country code are found whatever the region). ``known`` adds literal values
    to find, such as the names and keys of one customer being erased.
    """
    if not text:
        return []
    found = _raw_matches(text, regions)
    for value in known:
        if value and len(value) >= 2:
            start = text.find(value)
            while start >= 0:
                found.append(PiiMatch("known", start, start + len(value), value))
                start = text.find(value, start + len(value))
    priority = {kind: i for i, kind in enumerate(("known", *PII_KINDS))}
    found.sort(key=lambda m: (priority[m.kind], m.start, -(m.end - m.start)))
    taken: list[PiiMatch] = []
    for match in found:
        if all(match.end <= t.start or match.start >= t.end for t in taken):
            taken.append(match)
    return sorted(taken, key=lambda m: m.start)


def scrub_text(
    text: str | None, regions: Sequence[str] = ("CN", "US", "GB"), known: Iterable[str] = ()
) -> str | None:
    """``text`` with each identifier replaced by a typed placeholder such as ``<EMAIL>``.

    Text models (sentiment, intents, topics) read scrubbed text, so an identifier never becomes a
    token, a keyword or a feature.
    """
    if text is None:
        return None
    pieces: list[str] = []
    last = 0
    for m in find_pii(text, regions, known):
        pieces.append(text[last : m.start])
        pieces.append(f"<{'PII' if m.kind == 'known' else m.kind.upper()}>")
        last = m.end
    pieces.append(text[last:])
    return "".join(pieces)


def is_token(value: object) -> bool:
    """Whether ``value`` is a pseudonym token written by :func:`crmlens.privacy.pseudonymise_columns`."""
    return isinstance(value, str) and TOKEN_RE.match(value) is not None


# Column-name hints: (kind, class, pattern over the lower-cased name). Direct identifiers single
# a person out; quasi-identifiers do so in combination (k-anonymity guards those in exports).
_HINTS: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (kind, cls, re.compile(p))
    for kind, cls, p in (
        ("email", "direct", r"e[-_ ]?mail|邮箱|郵箱|电子邮件"),
        ("phone", "direct", r"phone|mobile|\btel\b|^tel|telephone|cell|手机|电话|電話|联系方式"),
        (
            "prc_id",
            "direct",
            r"id[_ ]?card|id[_ ]?number|national[_ ]?id|身份证|身份證|ssn|soc[_ ]?sec|citizen",
        ),
        ("passport", "direct", r"passport|护照|護照"),
        (
            "bank_card",
            "direct",
            r"card[_ ]?(no|num|number)|bank[_ ]?card|credit[_ ]?card|银行卡|卡号|iban|account[_ ]?no",
        ),
        ("ip", "direct", r"(^|_)ip(_|$)|ip[_ ]?addr"),
        (
            "name",
            "direct",
            r"(^|_)(name|full_?name|first_?name|given_?name|surname|last_?name|family_?name)$|姓名|名字|联系人",
        ),
        ("address", "direct", r"address|street|addr|地址|住址"),
        ("birth_date", "quasi", r"birth|dob|出生|生日"),
        ("postcode", "quasi", r"post_?code|zip|邮编"),
        ("gender", "quasi", r"gender|(^|_)sex$|性别"),
        ("city", "quasi", r"(^|_)(city|suburb|town)$|城市"),
    )
)
_NOT_PERSON_TABLE = re.compile(
    r"^(products?|segments?|campaigns?|categor|events?|models?|compan|brands?|stores?|shops?)"
)
_NOT_PERSON = re.compile(
    r"(^|_)(product|segment|campaign|file|table|column|category|event|source|model|task|company|brand)"
)


def column_hint(column: str, table: str = "") -> tuple[str, str] | None:
    """(kind, class) that a column's name suggests, or None; ``product_name`` (or ``products.name``)
    is not a person's name."""
    name = column.strip().lower()
    if _NOT_PERSON.search(name):  # product_name, bundled_product_name, segment_name ...
        return None
    for kind, cls, pattern in _HINTS:
        if pattern.search(name):
            if kind == "name" and _NOT_PERSON_TABLE.match(table.strip().lower()):
                return None
            return kind, cls
    return None


def scan_values(
    values: Iterable[Any], column: str = "", regions: Sequence[str] = ("CN", "US", "GB"), table: str = ""
) -> dict[str, Any]:
    """What one column holds: the hint from its name, hits per kind in its values, and a verdict.

    The verdict is ``empty`` without values, ``pseudonymised`` when (nearly) all values are tokens,
    ``pii`` when the name is a direct identifier or at least 5% of values carry one, ``quasi`` for
    quasi-identifiers, else ``clean``.
    """
    hits: Counter[str] = Counter()
    n = n_pii = n_tokens = 0
    for value in values:
        if value is None:
            continue
        text = str(value)
        if not text.strip():
            continue
        n += 1
        if TOKEN_RE.match(text):
            n_tokens += 1
            continue
        kinds = {m.kind for m in find_pii(text, regions)}
        hits.update(kinds)
        n_pii += bool(kinds)
    hint = column_hint(column, table) if column else None
    if n == 0:
        verdict = "empty"
    elif n_tokens >= 0.9 * n:
        verdict = "pseudonymised"
    elif (hint and hint[1] == "direct") or n_pii >= max(1, 0.05 * n):
        verdict = "pii"
    elif hint and hint[1] == "quasi":
        verdict = "quasi"
    else:
        verdict = "clean"
    return {
        "column": column,
        "name_hint": hint[0] if hint else None,
        "values_scanned": n,
        "values_with_pii": n_pii,
        "pii_fraction": n_pii / n if n else 0.0,
        "tokens": n_tokens,
        "kinds": dict(sorted(hits.items())),
        "verdict": verdict,
    }


def scan_table(
    engine: Engine,
    table: str,
    sample_rows: int = 2000,
    seed: int = 0,
    regions: Sequence[str] = ("CN", "US", "GB"),
) -> list[dict[str, Any]]:
    """Scan a sample of every column of ``table`` (numbers too: a card stored as BIGINT is still a card)."""
    columns = engine.columns(table)
    if not columns:
        return []
    total = engine.count(table)
    sample = (
        f" USING SAMPLE reservoir({int(sample_rows)} ROWS) REPEATABLE ({int(seed)})"
        if total > sample_rows
        else ""
    )
    frame = engine.query(f'SELECT * FROM "{table}"{sample}').to_pandas()
    out = []
    for column in columns:
        series = frame[column]
        if str(series.dtype).startswith(("datetime", "float", "bool")):
            values: list[Any] = []
        else:
            values = series.dropna().astype(str).tolist()
        row = scan_values(values, column, regions, table=table)
        if not values and series.notna().any():  # dates, floats, booleans: judged by the column name only
            hint = column_hint(column, table)
            row["verdict"] = "clean" if hint is None else ("pii" if hint[1] == "direct" else "quasi")
        row["table"] = table
        row["rows"] = total
        out.append(row)
    return out


def scan_warehouse(
    engine: Engine, sample_rows: int = 2000, seed: int = 0, skip: Sequence[str] = ("audit_log", "pii_vault")
) -> list[dict[str, Any]]:
    """:func:`scan_table` over every table; the audit log and the encrypted vault are skipped by design."""
    rows: list[dict[str, Any]] = []
    for table in engine.tables():
        if table in skip:
            continue
        rows.extend(scan_table(engine, table, sample_rows=sample_rows, seed=seed))
    return rows
