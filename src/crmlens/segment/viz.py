"""Pictures of segments: a 2-D map of customers (PCA or UMAP) and a profile heatmap, as Plotly figures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from crmlens.exceptions import ConfigError

__all__ = ["map_coordinates", "map_figure", "profile_figure", "transition_figure"]


def map_coordinates(
    space: np.ndarray, method: str = "pca", random_state: int = 0, max_fit: int = 5000
) -> np.ndarray:
    """2-D coordinates of every customer: PCA (fast, faithful to distances) or UMAP (neighbourhoods).

    UMAP is fitted on at most ``max_fit`` customers and the rest are placed with its ``transform``.
    """
    if method == "pca":
        if space.shape[1] == 1:
            return np.column_stack([space[:, 0], np.zeros(len(space))])
        return PCA(n_components=2, random_state=random_state).fit_transform(space)
    if method == "umap":
        import umap

        rng = np.random.default_rng(random_state)
        idx = (
            rng.choice(len(space), max_fit, replace=False) if len(space) > max_fit else np.arange(len(space))
        )
        reducer = umap.UMAP(n_components=2, random_state=random_state, n_neighbors=15, min_dist=0.1, n_jobs=1)
        reducer.fit(space[idx])
        if len(idx) == len(space):
            return reducer.embedding_.astype(float)
        return reducer.transform(space).astype(float)
    raise ConfigError(f"segment: unknown map method {method!r}; choose pca or umap")


def map_figure(points: pd.DataFrame, names: dict[Any, str] | None = None, max_points: int = 20_000) -> Any:
    """Scatter of ``points`` (columns ``x, y, segment``) coloured by segment name, sampled for the browser."""
    import plotly.express as px

    shown = points.sample(max_points, random_state=0) if len(points) > max_points else points
    label = shown["segment"].map(names) if names else shown["segment"].astype(str)
    fig = px.scatter(shown, x="x", y="y", color=label.astype(str), opacity=0.6, render_mode="webgl")
    fig.update_traces(marker={"size": 4})
    fig.update_layout(
        title="Customer map by segment", legend_title_text="segment", xaxis_title="", yaxis_title=""
    )
    return fig


def profile_figure(profiles: pd.DataFrame, names: dict[Any, str] | None = None) -> Any:
    """Heatmap of effect sizes (segment against the rest) per feature: what sets each segment apart."""
    import plotly.graph_objects as go

    d_cols = [c for c in profiles.columns if c.startswith("d_")]
    labels = [
        f"{names.get(s, s) if names else s} ({n:,})"
        for s, n in zip(profiles["segment"], profiles["size"], strict=True)
    ]
    z = profiles[d_cols].to_numpy(dtype=float)
    fig = go.Figure(
        go.Heatmap(
            z=z, x=[c[2:] for c in d_cols], y=labels, colorscale="RdBu", zmid=0, colorbar={"title": "d"}
        )
    )
    fig.update_layout(title="Segment profiles: effect size against the other customers")
    return fig


def transition_figure(matrix: pd.DataFrame) -> Any:
    """Heatmap of a transition matrix (rows: segment before, columns: after, cells: share of the row)."""
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(dtype=float),
            x=[str(c) for c in matrix.columns],
            y=[str(i) for i in matrix.index],
            colorscale="Blues",
            text=np.round(matrix.to_numpy(dtype=float), 2),
            texttemplate="%{text}",
        )
    )
    fig.update_layout(title="Segment transitions", xaxis_title="after", yaxis_title="before")
    return fig
