"""File mode: one messy customer list (or two lists to link) in, one resolved id per row out."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import pandas as pd

from crmlens.exceptions import ConfigError
from crmlens.identity.linkage import RecordLinker
from crmlens.identity.roles import guess_roles

__all__ = ["read_table", "dedup_frame", "write_table"]


def read_table(path: str | Path, sep: str | None = None) -> pd.DataFrame:
    """CSV (separator sniffed, values kept as text), Parquet or Excel, with an error naming the file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"dedup: file {path} does not exist")
    suffix = "".join(path.suffixes[-2:]).lower()
    try:
        if suffix.endswith(".parquet"):
            return pd.read_parquet(path)
        if suffix.endswith((".xlsx", ".xls")):
            return pd.read_excel(path, dtype=str)
        if sep is None:
            with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
                sample = handle.read(65536)
            try:
                sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
            except csv.Error:
                sep = ","
        return pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            skipinitialspace=True,
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
        )
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ConfigError(f"dedup: cannot read {path}: {exc}") from exc


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """CSV or Parquet by the file's extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


def dedup_frame(
    frame: pd.DataFrame,
    id_col: str | None = None,
    *,
    roles: dict[str, str] | None = None,
    source_col: str | None = None,
    link_only: bool = False,
    threshold: float = 0.9,
    seed: int = 0,
    spark: Any = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Resolve the rows of one table: per row the resolved id, the match probability and the deciding rule.

    Column roles are guessed (``roles`` overrides any guess). With ``source_col`` the rows come
    from several lists; ``link_only`` then links across lists only (each list already clean).
    Returns the output frame and a summary (roles, blocking rules, counts, seconds). ``spark`` (a
    SparkEngine or session) runs Splink on Spark instead of DuckDB.
    """
    if id_col is not None and id_col not in frame.columns:
        raise ConfigError(f"dedup: --id-col {id_col!r} is not a column; columns: {list(frame.columns)[:20]}")
    if source_col is not None and source_col not in frame.columns:
        raise ConfigError(
            f"dedup: --source-col {source_col!r} is not a column; columns: {list(frame.columns)[:20]}"
        )
    start = time.perf_counter()
    exclude = (source_col,) if source_col else ()
    guessed = guess_roles(frame, id_col=id_col, overrides=roles, exclude=exclude)
    link_type = "dedupe_only" if source_col is None else ("link_only" if link_only else "link_and_dedupe")
    linker = RecordLinker(
        guessed, threshold=threshold, link_type=link_type, source_col=source_col, seed=seed, spark=spark
    )
    result = linker.fit_predict(frame)
    out = pd.DataFrame(index=frame.index)
    if id_col is not None:
        out[id_col] = frame[id_col].to_numpy()
    if source_col is not None:
        out[source_col] = frame[source_col].to_numpy()
    out["resolved_id"] = result["cluster"].to_numpy() + 1
    out["match_probability"] = result["match_probability"].round(6).to_numpy()
    out["match_rule"] = result["match_rule"].to_numpy()
    out["cluster_size"] = out.groupby("resolved_id")["resolved_id"].transform("size").to_numpy()
    seconds = time.perf_counter() - start
    summary = {
        "rows": len(frame),
        "entities": int(out["resolved_id"].nunique()),
        "rows_in_clusters": int((out["cluster_size"] > 1).sum()),
        "links_by_rule": {str(k): int(v) for k, v in out["match_rule"].value_counts().sort_index().items()},
        "roles": {c: r for c, r in guessed.items() if r != "ignore"},
        "blocking_rules": [" & ".join(r) for r in linker.blocking_rules_],
        "seconds": round(seconds, 3),
        "rows_per_s": round(len(frame) / seconds, 1) if seconds > 0 else None,
    }
    return out.reset_index(drop=True), summary
