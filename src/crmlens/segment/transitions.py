"""How customers move between segments from one cutoff to the next."""

from __future__ import annotations

import pandas as pd

from crmlens.exceptions import ValidationError

__all__ = ["transition_matrix"]


def transition_matrix(
    before: pd.DataFrame,
    after: pd.DataFrame,
    id_col: str = "customer_id",
    segment_col: str = "segment_name",
    normalize: bool = True,
) -> pd.DataFrame:
    """Rows: segment at the earlier cutoff; columns: segment at the later one.

    Customers present only later count under ``(new)``; customers gone later under ``(gone)``.
    With ``normalize`` each row sums to 1 (the share of the segment that moved where).

    Examples
    --------
    >>> a = pd.DataFrame({"customer_id": [1, 2, 3], "segment_name": ["new", "new", "loyal"]})
    >>> b = pd.DataFrame({"customer_id": [1, 3, 4], "segment_name": ["loyal", "loyal", "new"]})
    >>> transition_matrix(a, b, normalize=False).loc["new", "loyal"]
    np.int64(1)
    """
    for name, frame in (("before", before), ("after", after)):
        missing = [c for c in (id_col, segment_col) if c not in frame.columns]
        if missing:
            raise ValidationError(f"transitions: {name} lacks column(s) {missing}")
    merged = before[[id_col, segment_col]].merge(
        after[[id_col, segment_col]], on=id_col, how="outer", suffixes=("_before", "_after")
    )
    src = (
        merged[f"{segment_col}_before"]
        .astype("object")
        .where(merged[f"{segment_col}_before"].notna(), "(new)")
    )
    dst = (
        merged[f"{segment_col}_after"]
        .astype("object")
        .where(merged[f"{segment_col}_after"].notna(), "(gone)")
    )
    table = pd.crosstab(src.astype(str), dst.astype(str))
    if normalize:
        table = table.div(table.sum(axis=1), axis=0)
    return table
