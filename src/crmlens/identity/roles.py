"""Which column is what: names, dates, addresses, phones, e-mails, ids, guessed from headers and values.

File mode has no hand-written setting, so the comparisons, blocking rules and deterministic rules
are all derived from these roles; users override any guess with ``roles={"col": "role"}``.
"""

from __future__ import annotations

import re

import pandas as pd

from crmlens.exceptions import ConfigError

__all__ = ["ROLES", "guess_roles"]

ROLES = (
    "name",  # a full name (any order, Chinese or Latin)
    "given_name",
    "surname",
    "birth_date",
    "email",
    "phone",
    "id",  # an identifier shared across systems (national id, external id)
    "address",
    "number",  # a street or house number
    "city",
    "postcode",
    "category",  # low-cardinality attribute (state, gender, country)
    "text",  # any other comparable text
    "ignore",
)

# header patterns, checked in order; the first hit wins
_HEADER_RULES: list[tuple[str, str]] = [
    (r"e_?mail|mail", "email"),
    (r"phone|mobile|tel\b|telephone|cell", "phone"),
    (r"birth|dob|born", "birth_date"),
    (r"given|first_?name|fname|forename|firstname", "given_name"),
    (r"surname|last_?name|lname|family_?name|lastname", "surname"),
    (r"post_?code|postal|zip", "postcode"),
    (r"street_?(no|num)|house_?(no|num)|number$", "number"),
    (r"suburb|city|town|locality|district", "city"),
    (r"state|country|province|region|gender|sex", "category"),
    (r"addr|street|road", "address"),
    (r"soc_?sec|ssn|national|passport|external|tax_?id|licen[cs]e|_id$|^id_", "id"),
    (r"name", "name"),
    (r"_at$|date|time|created|updated|signup|consent|amount|price|score|count", "ignore"),
]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s\-().]{7,20}$")


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")


def _by_content(values: pd.Series) -> str:
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    if text.empty:
        return "ignore"
    sample = text.head(500)
    if sample.str.match(_EMAIL).mean() > 0.8:
        return "email"
    digits = sample.str.replace(r"\D", "", regex=True)
    if sample.str.match(_PHONE).mean() > 0.8 and digits.str.len().between(8, 15).mean() > 0.8:
        return "phone" if sample.str.contains(r"[+\s\-()]").mean() > 0.3 else "id"
    if sample.str.fullmatch(r"\d{1,5}").mean() > 0.9:
        return "number"
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    if parsed.notna().mean() > 0.8 and sample.str.len().between(6, 10).mean() > 0.8:
        return "birth_date"
    if text.nunique() <= max(20, len(text) // 200):
        return "category"
    return "text"


def guess_roles(
    frame: pd.DataFrame,
    id_col: str | None = None,
    overrides: dict[str, str] | None = None,
    exclude: tuple[str, ...] = (),
) -> dict[str, str]:
    """A role for every column but the id: from its header first, else from its values.

    ``overrides`` wins over any guess; a role of ``ignore`` drops the column from matching.
    """
    overrides = dict(overrides or {})
    for column, role in overrides.items():
        if column not in frame.columns:
            raise ConfigError(f"dedup: role override names column {column!r}, which the file lacks")
        if role not in ROLES:
            raise ConfigError(f"dedup: role {role!r} for column {column!r} is not one of {', '.join(ROLES)}")
    roles: dict[str, str] = {}
    for column in frame.columns:
        if column == id_col or column in exclude:
            continue
        if column in overrides:
            roles[column] = overrides[column]
            continue
        header = _snake(column)
        role = next((r for pattern, r in _HEADER_RULES if re.search(pattern, header)), None)
        if role is None or role in ("id", "text"):
            content = _by_content(frame[column])
            role = content if role is None else role
        if role == "address" and _by_content(frame[column]) == "number":
            role = "number"
        roles[column] = role
    return roles
