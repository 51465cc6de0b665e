"""Reading a user's file into a clean frame: the quirks of real CSVs handled once, here.

Real exports carry blanks for missing numbers (Telco ``TotalCharges``), a trailing comma that adds an
empty column (Leads ``Unnamed: 37``), ``;`` separators (bank marketing), gzip, and labels written as
``Yes/No``, ``yes/no`` or ``0/1``. Every reader of a file in ``predict`` goes through here.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd

from crmlens.exceptions import ConfigError, SourceError, ValidationError

_POSITIVE_WORDS = {
    "1",
    "yes",
    "y",
    "true",
    "t",
    "churn",
    "churned",
    "converted",
    "default",
    "bad",
    "positive",
}
_NEGATIVE_WORDS = {"0", "no", "n", "false", "f", "stay", "stayed", "good", "negative"}
_ID_NAME = re.compile(r"(^|[\s_\-.])(id|key|uuid|number|no)$|id$", re.IGNORECASE)


def _sniff_sep(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace") as handle:
        sample = handle.read(64_000)
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    best, best_score = ",", 0
    for sep in (",", ";", "\t", "|"):
        counts = [line.count(sep) for line in lines]
        if counts and min(counts) > 0:
            score = min(counts) * (2 if len(set(counts)) == 1 else 1)
            if score > best_score:
                best, best_score = sep, score
    return best


def read_table(path: str | Path) -> pd.DataFrame:
    """Read CSV (any separator, gzip or not), Parquet or Excel; errors name the file."""
    path = Path(path)
    if not path.exists():
        raise SourceError(str(path), "file not found; check the path")
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            return pd.read_parquet(path)
        if name.endswith((".xlsx", ".xls")):
            return pd.read_excel(path)
        return pd.read_csv(path, sep=_sniff_sep(path), low_memory=False, encoding="utf-8-sig")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SourceError(
            str(path), f"cannot be read as a table ({exc}); give a CSV, Parquet or XLSX file"
        ) from exc


def clean_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop empty columns, turn blanks into missing values, and text columns of numbers into numbers.

    Returns the cleaned frame and notes saying what was changed, by column name.
    """
    notes: list[str] = []
    out = frame.copy()
    for column in list(out.columns):
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            stripped = series.astype("string").str.strip()
            stripped = stripped.mask(stripped == "")
            if stripped.isna().all():
                out = out.drop(columns=column)
                notes.append(f"dropped empty column {column!r}")
                continue
            numbers = pd.to_numeric(stripped, errors="coerce")
            present = stripped.notna()
            blanks = int((series.notna() & ~present).sum())
            if present.any() and numbers[present].notna().mean() >= 0.99:
                out[column] = numbers.astype("float64")
                if blanks:
                    notes.append(f"{column!r}: {blanks} blank values read as missing numbers")
            else:
                out[column] = stripped.astype(object).where(stripped.notna(), np.nan)
        elif series.isna().all():
            out = out.drop(columns=column)
            notes.append(f"dropped empty column {column!r}")
    return out, notes


def encode_target(series: pd.Series, name: str) -> tuple[np.ndarray, str]:
    """A two-valued column as 0/1, with the positive class named (``Yes``, ``1``, ``yes`` …).

    The positive class is the one spelled like a positive (yes/true/1), otherwise the rarer one.
    """
    values = series.dropna()
    if values.empty:
        raise ValidationError(f"target column {name!r} is empty")
    text = values.astype(str).str.strip()
    if pd.api.types.is_numeric_dtype(values):
        text = values.map(lambda v: str(int(v)) if float(v).is_integer() else str(v))
    classes = sorted(text.unique())
    if len(classes) != 2:
        shown = ", ".join(classes[:6])
        raise ValidationError(
            f"target column {name!r} must have exactly two values for a propensity model; found {len(classes)}"
            f" ({shown}); pick a yes/no column with --target"
        )
    lower = {c: c.lower() for c in classes}
    positives = [c for c in classes if lower[c] in _POSITIVE_WORDS]
    negatives = [c for c in classes if lower[c] in _NEGATIVE_WORDS]
    if len(positives) == 1:
        positive = positives[0]
    elif len(negatives) == 1:
        positive = next(c for c in classes if c != negatives[0])
    else:
        positive = text.value_counts().index[-1]
    if series.isna().any():
        raise ValidationError(
            f"target column {name!r} has {int(series.isna().sum())} missing values; drop those rows or fill them"
        )
    full = series.astype(str).str.strip()
    if pd.api.types.is_numeric_dtype(series):
        full = series.map(lambda v: str(int(v)) if float(v).is_integer() else str(v))
    return (full == positive).to_numpy(dtype=np.int8), positive


def guess_id_columns(frame: pd.DataFrame) -> list[str]:
    """Columns that identify a row rather than describe it: unique per row and named like an id."""
    found = []
    n = len(frame)
    for column in frame.columns:
        series = frame[column]
        if n > 20 and series.nunique(dropna=True) >= 0.98 * n and _ID_NAME.search(str(column).strip()):
            found.append(column)
        elif series.dtype == object and n > 20 and series.nunique(dropna=True) == n:
            found.append(column)  # a unique text per row (UUID, e-mail) never generalises
    return found


def check_column(
    frame: pd.DataFrame, column: str | None, option: str, path: str | Path | None = None
) -> None:
    """Raise a config error naming the option, the file and the columns it could have been."""
    if column is None or column in frame.columns:
        return
    where = f" of {path}" if path else ""
    close = [c for c in frame.columns if str(c).lower() == column.lower()]
    hint = (
        f"; did you mean {close[0]!r}?"
        if close
        else f"; columns are: {', '.join(map(str, frame.columns[:30]))}"
    )
    raise ConfigError(f"{option} {column!r} is not a column{where}{hint}")
