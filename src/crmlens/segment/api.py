"""The entry points: segment a frame, a file, or the warehouse's ``customer_360``, end to end.

``segment_frame`` fits a :class:`SegmentClusterer`, profiles and names the segments and draws
the map; ``run_on_profile`` returns the three frames the warehouse and report need;
``run_on_warehouse`` reads ``customer_360`` and writes ``segments``.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmlens.exceptions import ConfigError, SourceError, ValidationError
from crmlens.segment.behaviour import behaviour_view, no_purchase_assignments
from crmlens.segment.cluster import SegmentClusterer
from crmlens.segment.profile import detect_roles, name_segments, profile_segments
from crmlens.segment.rfm import RFMSegmenter
from crmlens.segment.viz import map_coordinates, map_figure, profile_figure

__all__ = [
    "NOT_FEATURES",
    "SegmentationResult",
    "read_customer_file",
    "rfm_assignments",
    "run_on_profile",
    "run_on_warehouse",
    "segment_frame",
]

# Columns that describe or judge a customer rather than their behaviour: never clustered on.
NOT_FEATURES = r"^(as_of|customer_key|source|row_number|loaded_at|attributes)$|churn|label|target|^clv|predicted|_id$|^id$"


@dataclass
class SegmentationResult:
    """Everything one segmentation run produced."""

    assignments: pd.DataFrame
    profiles: pd.DataFrame
    map: pd.DataFrame
    model: SegmentClusterer
    names: dict[Any, str]
    metrics: dict[str, Any] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        """Plotly figures for the report and dashboard: the customer map and the profile heatmap."""
        return {
            "map": map_figure(self.map, self.names),
            "profiles": profile_figure(self.profiles, self.names),
        }


def feature_columns(frame: pd.DataFrame, id_col: str | None, columns: list[str] | None = None) -> list[str]:
    """The profile columns to cluster on: given ones, or all but ids, cutoffs and labels."""
    if columns:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValidationError(
                f"segment: column(s) {missing} not found; available: {list(frame.columns)[:30]}"
            )
        return list(columns)
    return [c for c in frame.columns if c != id_col and not re.search(NOT_FEATURES, str(c).lower())]


def segment_frame(
    frame: pd.DataFrame,
    id_col: str | None = "customer_id",
    method: str = "auto",
    n_clusters: int | None = None,
    columns: list[str] | None = None,
    segmentation: str = "behaviour",
    names: Mapping[Any, str] | None = None,
    map_method: str = "pca",
    random_state: int = 0,
    **params: Any,
) -> SegmentationResult:
    """Segment customers: choose and fit the clustering, profile and name segments, map them.

    Extra keyword arguments go to :class:`SegmentClusterer` (``k_range``, ``dp_epsilon`` ...).
    """
    if id_col is not None and id_col not in frame.columns:
        raise ValidationError(
            f"segment: id column {id_col!r} not found; available: {list(frame.columns)[:30]}"
        )
    if id_col is not None and frame[id_col].duplicated().any():
        dup = frame.loc[frame[id_col].duplicated(), id_col].iloc[0]
        raise ValidationError(
            f"segment: id column {id_col!r} repeats (e.g. {dup!r}); one row per customer expected"
        )
    used = feature_columns(frame, id_col, columns)
    model = SegmentClusterer(
        method=method, n_clusters=n_clusters, columns=used, random_state=random_state, **params
    ).fit(frame)
    labels = model.labels_
    kept = [c for c in used if c in model.preprocessor_.numeric_ or c in model.preprocessor_.categorical_]
    profile_input = frame[kept].copy()
    for col in model.preprocessor_.dates_:  # dates profiled as "days ago"
        profile_input[col] = model.preprocessor_._coerce_seen(frame[col], col)
    extras = [c for c in frame.columns if c not in kept and c != id_col]
    # numeric columns not clustered on still describe the segments (e.g. spend when clustering on rates)
    described = [
        c
        for c in feature_columns(frame, id_col)
        if c not in kept
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    for col in described:
        profile_input[col] = frame[col].astype(float)
    roles = detect_roles(extras)
    for role in ("churn", "clv"):
        for col in roles.get(role, [])[:1]:
            if pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col]):
                profile_input[col] = frame[col].astype(float)
    profiles = profile_segments(
        profile_input,
        labels,
        features=kept + described,
        churn_col=next(iter(roles.get("churn", [])), None),
        clv_col=next(iter(roles.get("clv", [])), None),
    )
    seg_names = name_segments(profiles, names)
    profiles.insert(1, "segment_name", profiles["segment"].map(seg_names))
    ids = frame[id_col].to_numpy() if id_col is not None else np.arange(len(frame))
    out_id = id_col or "row"
    assignments = pd.DataFrame(
        {
            out_id: ids,
            "segmentation": segmentation,
            "segment": labels.astype(str),
            "segment_name": pd.Series(labels).map(seg_names).to_numpy(),
        }
    )
    xy = map_coordinates(model.embed(frame), map_method, random_state=random_state)
    points = pd.DataFrame({out_id: ids, "x": xy[:, 0], "y": xy[:, 1], "segment": labels.astype(str)})
    str_names = {str(k): v for k, v in seg_names.items()}
    profiles["segment"] = profiles["segment"].astype(str)
    metrics = {**model.metrics_, "method": model.method_, "n_customers": len(frame)}
    return SegmentationResult(assignments, profiles, points, model, str_names, metrics)


def run_on_profile(
    profile_frame: pd.DataFrame, id_col: str = "customer_id", method: str = "auto", **kwargs: Any
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Segment ``customer_360`` (or any one-row-per-customer frame) for the warehouse and report.

    Returns ``(assignments, profiles, map)``: assignments has ``customer_id, segmentation, segment,
    segment_name`` (the ``segments`` table), profiles one row per segment, map ``customer_id, x, y,
    segment``. Keyword arguments go to :func:`segment_frame`.
    """
    result = segment_frame(profile_frame, id_col=id_col, method=method, **kwargs)
    return result.assignments, result.profiles, result.map


def rfm_assignments(
    profile_frame: pd.DataFrame, id_col: str = "customer_id", segmentation: str = "rfm", **rfm_params: Any
) -> pd.DataFrame:
    """The named RFM segment of each customer, as ``segments`` rows; columns found by their names."""
    roles = detect_roles([c for c in profile_frame.columns if c != id_col])
    params = {}
    for role, key in (
        ("recency", "recency_col"),
        ("frequency", "frequency_col"),
        ("monetary", "monetary_col"),
    ):
        if key not in rfm_params:
            if not roles.get(role):
                raise ValidationError(f"rfm: no {role} column found; pass {key}=")
            params[key] = roles[role][0]
    rfm = RFMSegmenter(**{**params, **rfm_params}).fit(profile_frame)
    names = rfm.predict(profile_frame)
    cells = rfm.scores(profile_frame)["rfm_cell"].to_numpy()
    return pd.DataFrame(
        {
            id_col: profile_frame[id_col].to_numpy(),
            "segmentation": segmentation,
            "segment": cells,
            "segment_name": names,
        }
    )


def run_on_warehouse(
    engine: Any,
    segmentation: str = "behaviour",
    method: str = "auto",
    as_of: Any = None,
    with_rfm: bool = True,
    consent: bool = True,
    **kwargs: Any,
) -> SegmentationResult:
    """Segment the warehouse's ``customer_360`` (latest ``as_of`` unless given) and write ``segments``.

    Clusters buyers on the behaviour columns of :func:`~crmlens.segment.behaviour.behaviour_view`
    (``columns=`` overrides them); customers without an order get the ``no purchase yet`` segment.

    Rows of the same ``segmentation`` (and ``rfm`` when ``with_rfm``) are replaced in one
    transaction; other segmentations stay. Segmenting is profiling: with ``consent`` (the
    default; ``privacy.consent: off`` turns it off) customers without profiling consent are left
    out, and drop out of these segmentations.
    """
    from crmlens.privacy.consent import enforce_consent

    if not engine.has_table("customer_360"):
        raise ConfigError("segment: table customer_360 not found; run `crmlens build` first")
    cols = engine.columns("customer_360")
    if "as_of" in cols:
        if as_of is None:
            profile = engine.query(
                "SELECT * FROM customer_360 WHERE as_of = (SELECT max(as_of) FROM customer_360)"
            ).to_pandas()
        else:
            profile = engine.query("SELECT * FROM customer_360 WHERE as_of = ?", [as_of]).to_pandas()
    else:
        profile = engine.table("customer_360").to_pandas()
    if profile.empty:
        raise ValidationError("segment: customer_360 has no rows for that cutoff")
    profile = enforce_consent(engine, profile, "profiling", "segments", enforce=consent).reset_index(
        drop=True
    )
    if profile.empty:
        raise ValidationError("segment: no customer of that cutoff has consented to profiling")
    view, behaviour, buyers = behaviour_view(profile)  # rates and one column per aspect; buyers only
    kwargs["columns"] = kwargs.get("columns") or behaviour or None
    result = segment_frame(
        view[buyers].reset_index(drop=True),
        id_col="customer_id",
        method=method,
        segmentation=segmentation,
        **kwargs,
    )
    frames = [result.assignments, no_purchase_assignments(view.loc[~buyers, "customer_id"], segmentation)]
    if with_rfm:
        try:
            frames.append(rfm_assignments(profile))
        except ValidationError:
            pass
    rows = pd.concat(frames, ignore_index=True)
    rows["customer_id"] = rows["customer_id"].astype("int64")
    names = sorted(rows["segmentation"].unique())
    with engine.transaction():
        engine.execute(
            "CREATE TABLE IF NOT EXISTS segments (customer_id BIGINT, segmentation VARCHAR, "
            "segment VARCHAR, segment_name VARCHAR)"
        )
        engine.execute(f"DELETE FROM segments WHERE segmentation IN ({', '.join('?' for _ in names)})", names)
        engine.register("_segment_rows", rows[["customer_id", "segmentation", "segment", "segment_name"]])
        engine.execute(
            "INSERT INTO segments SELECT customer_id, segmentation, segment, segment_name FROM _segment_rows"
        )
    return result


def read_customer_file(path: str | Path, sep: str | None = None) -> pd.DataFrame:
    """Read a customer CSV (any of , ; tab |, gzipped or not, BOM or not) or Parquet file."""
    path = Path(path)
    if not path.exists():
        raise SourceError(str(path), "file not found")
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", errors="replace") as handle:
            head = handle.read(65536)
        if sep is None:
            try:
                sep = csv.Sniffer().sniff(head.splitlines()[0], delimiters=",;\t|").delimiter
            except (csv.Error, IndexError):
                sep = ","
        return pd.read_csv(path, sep=sep, encoding="utf-8-sig", low_memory=False)
    except (UnicodeError, pd.errors.ParserError, OSError) as exc:
        raise SourceError(str(path), f"cannot read as CSV ({exc}); check the separator (--sep)") from exc
