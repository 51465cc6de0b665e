"""``crmlens segment FILE``: segment the customers of one file, name the segments, write who is where."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from crmlens.cli._output import emit, progress
from crmlens.exceptions import ConfigError


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def register(app: typer.Typer) -> None:
    @app.command("segment")
    def segment(
        file: Path = typer.Argument(
            ..., help="Customer file: one row per customer (CSV of any separator, .gz, Parquet)."
        ),
        id_col: str = typer.Option(..., "--id-col", help="Column that identifies the customer."),
        method: str = typer.Option(
            "auto", "--method", help="auto, kmeans, agglomerative, dbscan, hdbscan, gmm, neural, or rfm."
        ),
        k: int = typer.Option(None, "--k", help="Number of segments (default: chosen by the data)."),
        out: Path = typer.Option(..., "--out", help="CSV to write: id, segment, segment_name, x, y."),
        columns: str = typer.Option(
            None, "--columns", help="Comma-separated profile columns to use (default: all)."
        ),
        exclude: str = typer.Option(
            None, "--exclude", help="Comma-separated columns to leave out (labels, ids)."
        ),
        sep: str = typer.Option(None, "--sep", help="CSV separator (default: sniffed)."),
        map_method: str = typer.Option("pca", "--map", help="2-D map: pca or umap."),
        dp_epsilon: float = typer.Option(
            None, "--dp-epsilon", help="Differentially private k-means (needs --k)."
        ),
        names: Path = typer.Option(
            None, "--names", help="JSON file {segment: name} overriding the automatic names."
        ),
        profiles_out: Path = typer.Option(
            None, "--profiles-out", help="Also write the segment profiles as CSV."
        ),
        html: Path = typer.Option(
            None, "--html", help="Also write the map and profile charts as a standalone HTML file."
        ),
        seed: int = typer.Option(0, "--seed"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Segment customers: choose method and k, profile and name the segments, map them."""
        from crmlens.benchmarking import measure
        from crmlens.segment import read_customer_file, rfm_assignments, segment_frame
        from crmlens.segment.api import feature_columns

        overrides = None
        if names is not None:
            try:
                overrides = json.loads(names.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise ConfigError(
                    f"segment: --names {names}: not a JSON object of segment -> name ({exc})"
                ) from exc
        with progress(not as_json) as bar:
            task = bar.add_task("segment", total=3)
            bar.update(task, description=f"reading {file.name}")
            frame = read_customer_file(file, sep=sep)
            if id_col not in frame.columns:
                raise ConfigError(
                    f"segment: --id-col {id_col!r} is not a column of {file}; columns: {list(frame.columns)[:20]}"
                )
            bar.advance(task)
            bar.update(task, description=f"segmenting {len(frame):,} customers ({method})")
            with measure() as m:
                if method == "rfm":
                    assignments = rfm_assignments(frame, id_col=id_col)
                    result = None
                else:
                    chosen = _split(columns) or feature_columns(frame, id_col)
                    dropped = set(_split(exclude) or [])
                    result = segment_frame(
                        frame,
                        id_col=id_col,
                        method=method,
                        n_clusters=k,
                        columns=[c for c in chosen if c not in dropped],
                        names=overrides,
                        map_method=map_method,
                        dp_epsilon=dp_epsilon,
                        random_state=seed,
                    )
                    assignments = result.assignments
            bar.advance(task)
            bar.update(task, description=f"writing {out.name}")
            out.parent.mkdir(parents=True, exist_ok=True)
            if result is not None:
                written = assignments.merge(result.map[[id_col, "x", "y"]], on=id_col)
            else:
                written = assignments
            written.drop(columns=["segmentation"]).to_csv(out, index=False)
            if result is not None and profiles_out:
                result.profiles.to_csv(profiles_out, index=False)
            if result is not None and html:
                figs = result.figures()
                parts = [figs["map"].to_html(full_html=False, include_plotlyjs=True)]
                parts.append(figs["profiles"].to_html(full_html=False, include_plotlyjs=False))
                html.write_text("<html><body>" + "".join(parts) + "</body></html>", encoding="utf-8")
            bar.advance(task)
        metrics: dict = {"n_customers": len(frame)}
        anchors: dict = {}
        payload: dict = {"file": str(file), "out": str(out), "method": method}
        if result is not None:
            metrics.update({k2: v for k2, v in result.metrics.items() if k2 not in ("method",)})
            payload["method"] = result.metrics["method"]
            payload["segments"] = result.profiles[
                [
                    c
                    for c in (
                        "segment",
                        "segment_name",
                        "size",
                        "share",
                        "revenue_share",
                        "churn_rate",
                        "distinguishing",
                    )
                    if c in result.profiles.columns
                ]
            ].to_dict(orient="records")
            selection = result.model.selection_table()
            payload["selection"] = selection
            scored = ("silhouette", "davies_bouldin", "calinski_harabasz", "stability")
            for row in selection:
                if row["chosen"] or not row["valid"]:
                    continue
                key = f"{row['method']}_k{row['k']}"
                anchors[key] = {s: row[s] for s in scored}
        else:
            counts = assignments["segment_name"].value_counts()
            payload["segments"] = [
                {"segment_name": n, "size": int(c), "share": c / len(frame)} for n, c in counts.items()
            ]
            metrics["n_segments"] = int(len(counts))
        metrics.update(
            {
                "seconds": m.seconds,
                "peak_mem_mb": m.peak_mem_mb,
                "rows_per_s": len(frame) / max(m.seconds, 1e-9),
            }
        )
        payload = {"metrics": metrics, "anchors": anchors, **payload}
        emit(
            payload,
            as_json,
            tables=[
                ("segments", payload["segments"]),
                (
                    "automatic choice (method, k)",
                    [
                        {
                            c: r[c]
                            for c in (
                                "method",
                                "k",
                                "silhouette",
                                "davies_bouldin",
                                "stability",
                                "valid",
                                "chosen",
                            )
                        }
                        for r in payload.get("selection", [])
                    ],
                ),
                ("metrics", [metrics]),
            ],
        )

    train = typer.Typer(help="Train on the project's warehouse: segments.", no_args_is_help=True)
    app.add_typer(train, name="train")

    @train.command("segments")
    def train_segments(
        project: Path = typer.Option(Path("."), "--project", "-p", help="The project folder."),
        seed: int = typer.Option(0, "--seed"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Segment the latest customer_360 (consent applied); write segments, profiles and the map."""
        from crmlens.pipeline import segment_stage
        from crmlens.workspace import open_workspace

        with open_workspace(project) as ws, progress(not as_json) as bar:
            task = bar.add_task("segmenting customers", total=1)
            summary = segment_stage(ws, seed)
            profiles = ws.engine.table("segment_profiles").to_pandas()
            bar.advance(task)
        names = [c for c in ("segment", "name", "size", "share") if c in profiles.columns]
        emit(
            {"metrics": summary, **summary},
            as_json,
            tables=[("segments", profiles[names].to_dict("records"))],
        )
