"""File mode: read a transactions file (CSV, TSV, whitespace-separated text, Parquet) for CLV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from crmlens.clv.summary import parse_dates
from crmlens.exceptions import SourceError, ValidationError

__all__ = ["read_transactions"]


def _separator(path: Path) -> str:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        head = handle.readline()
    for sep in (",", "\t", ";", "|"):
        if sep in head:
            return sep
    return r"\s+"


def read_transactions(
    path: str | Path,
    customer_col: str,
    date_col: str,
    amount_col: str | None = None,
    *,
    quantity_col: str | None = None,
    price_col: str | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Columns ``customer_id`` (as text, so ids keep leading zeros), ``ts`` and ``amount``.

    The amount is ``amount_col``, or ``quantity_col * price_col`` when the file has no total.
    """
    path = Path(path)
    if not path.exists():
        raise SourceError(str(path), "file not found")
    wanted = [c for c in (customer_col, date_col, amount_col, quantity_col, price_col) if c]
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            sep = _separator(path)
            frame = pd.read_csv(path, sep=sep, dtype={customer_col: "string", date_col: "string"})
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SourceError(str(path), f"cannot read as a table: {exc}") from exc
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ValidationError(f"{path}: no column(s) {missing}; the file has {list(frame.columns)}")
    if (quantity_col is None) != (price_col is None):
        raise ValidationError("clv: give both --quantity-col and --price-col, or --amount-col")
    ids = frame[customer_col].astype("string").str.strip()
    ids = ids.str.replace(r"\.0$", "", regex=True)  # ids written as floats (17850.0)
    out = pd.DataFrame({"customer_id": ids, "ts": parse_dates(frame[date_col], date_col, date_format)})
    if amount_col:
        out["amount"] = pd.to_numeric(frame[amount_col], errors="coerce")
    elif quantity_col and price_col:
        out["amount"] = pd.to_numeric(frame[quantity_col], errors="coerce") * pd.to_numeric(
            frame[price_col], errors="coerce"
        )
    else:
        out["amount"] = float("nan")
    return out[out["customer_id"].notna() & (out["customer_id"] != "")].reset_index(drop=True)
