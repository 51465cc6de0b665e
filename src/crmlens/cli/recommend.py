"""``crmlens recommend eval|fit|for``: recommenders on an interactions file."""

from __future__ import annotations

from pathlib import Path

import typer

from crmlens.cli._output import emit, progress

_SPEC_HELP = {
    "user": "Column with the customer id.",
    "item": "Column with the product id.",
    "time": "Column with the time (datetime or unix seconds); makes the hold-out time-based.",
    "weight": "Column with a quantity or strength; rows where it is not > 0 are dropped.",
    "text": "Column with product text (name/description) for the content model.",
    "names": "Comma-separated column names for a file without a header row (e.g. MovieLens u.data).",
    "sep": "Field separator (default: tab for .tsv/.data, else comma).",
}


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Product recommendations: evaluate, fit, recommend.", no_args_is_help=True)
    app.add_typer(group, name="recommend")

    @group.command("eval")
    def eval_(
        interactions: Path = typer.Argument(
            ..., help="Interactions file: CSV/TSV (may be gzipped) or Parquet."
        ),
        user_col: str = typer.Option(..., "--user-col", help=_SPEC_HELP["user"]),
        item_col: str = typer.Option(..., "--item-col", help=_SPEC_HELP["item"]),
        time_col: str = typer.Option(None, "--time-col", help=_SPEC_HELP["time"]),
        weight_col: str = typer.Option(None, "--weight-col", help=_SPEC_HELP["weight"]),
        item_text_col: str = typer.Option(None, "--item-text-col", help=_SPEC_HELP["text"]),
        basket_col: str = typer.Option(
            None, "--basket-col", help="Order/invoice column: hold out whole baskets."
        ),
        holdout_last: int = typer.Option(
            None, "--holdout-last", help="Hold out each customer's last N rows."
        ),
        holdout_frac: float = typer.Option(
            None, "--holdout-frac", help="Hold out each customer's last share of baskets."
        ),
        after: str = typer.Option(None, "--after", help="Hold out everything after this date."),
        k: int = typer.Option(10, "--k", help="Cut-off of the ranking metrics."),
        models: str = typer.Option(None, "--models", help="Comma-separated models (default: all)."),
        include_repeats: bool = typer.Option(
            False, "--include-repeats", help="Also count re-purchases of items already bought as hits."
        ),
        recency_steps: float = typer.Option(
            10.0, "--recency-steps", help="Per-customer recency decay (0: off)."
        ),
        names: str = typer.Option(None, "--names", help=_SPEC_HELP["names"]),
        sep: str = typer.Option(None, "--sep", help=_SPEC_HELP["sep"]),
        seed: int = typer.Option(0, "--seed"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Every recommender on one time-based hold-out, ranking over all items."""
        from crmlens.recommend.filemode import FileSpec, evaluate_file, load_file

        spec = FileSpec(user_col, item_col, time_col, weight_col, item_text_col, recency_steps or None)
        frame = load_file(interactions, spec, sep=_sep(sep), names=names.split(",") if names else None)
        chosen = models.split(",") if models else None
        with progress(not as_json) as bar:
            task = bar.add_task("evaluating", total=len(chosen) if chosen else 8)
            started: list[str] = []

            def step(name: str) -> None:
                bar.update(task, description=f"fitting {name}", advance=1 if started else 0)
                started.append(name)

            payload = evaluate_file(
                frame,
                spec,
                models=chosen,
                k=k,
                holdout_last=holdout_last,
                holdout_frac=holdout_frac,
                basket_col=basket_col,
                after=after,
                exclude_seen=not include_repeats,
                seed=seed,
                on_model=step,
            )
            bar.update(task, completed=bar.tasks[task].total)
        payload["metrics"] = dict(payload["metrics"])
        emit(
            payload,
            as_json,
            tables=[
                (f"recommenders on {interactions.name} (best: {payload['best_model']})", payload["models"])
            ],
        )

    @group.command("fit")
    def fit(
        interactions: Path = typer.Argument(
            ..., help="Interactions file: CSV/TSV (may be gzipped) or Parquet."
        ),
        user_col: str = typer.Option(..., "--user-col", help=_SPEC_HELP["user"]),
        item_col: str = typer.Option(..., "--item-col", help=_SPEC_HELP["item"]),
        out: Path = typer.Option(..., "--out", help="Model file to write (.npz; loads without pickle)."),
        model: str = typer.Option(
            "hybrid", "--model", help="popularity, item_knn, user_knn, als, bpr, ease, content, hybrid."
        ),
        time_col: str = typer.Option(None, "--time-col", help=_SPEC_HELP["time"]),
        weight_col: str = typer.Option(None, "--weight-col", help=_SPEC_HELP["weight"]),
        item_text_col: str = typer.Option(None, "--item-text-col", help=_SPEC_HELP["text"]),
        recency_steps: float = typer.Option(
            10.0, "--recency-steps", help="Per-customer recency decay (0: off)."
        ),
        names: str = typer.Option(None, "--names", help=_SPEC_HELP["names"]),
        sep: str = typer.Option(None, "--sep", help=_SPEC_HELP["sep"]),
        seed: int = typer.Option(0, "--seed"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Fit one recommender on the whole file and save it."""
        import time

        from crmlens.recommend.base import save_model
        from crmlens.recommend.filemode import FileSpec, fit_file, load_file

        spec = FileSpec(user_col, item_col, time_col, weight_col, item_text_col, recency_steps or None)
        frame = load_file(interactions, spec, sep=_sep(sep), names=names.split(",") if names else None)
        with progress(not as_json) as bar:
            task = bar.add_task(f"fitting {model}", total=1)
            start = time.perf_counter()
            fitted = fit_file(frame, spec, model=model, seed=seed)
            seconds = time.perf_counter() - start
            bar.advance(task)
        path = save_model(
            fitted, out, extra={"source_file": interactions.name, "user_col": user_col, "item_col": item_col}
        )
        payload = {
            "metrics": {
                "seconds": seconds,
                "customers": len(fitted.user_ids_),
                "items": len(fitted.item_ids_),
                "interactions": int(fitted.user_items_.nnz),
            },
            "anchors": {},
            "model": model,
            "out": str(path),
            "size_bytes": path.stat().st_size,
            "notes": spec.notes,
        }
        emit(payload, as_json)

    @group.command("for")
    def for_(
        customers: list[str] = typer.Argument(
            None, help="Customer ids (default: every customer of the model)."
        ),
        model: Path = typer.Option(..., "--model", help="Model file written by crmlens recommend fit."),
        n: int = typer.Option(10, "--n", help="Products per customer."),
        include_purchased: bool = typer.Option(
            False, "--include-purchased", help="Allow items already taken."
        ),
        out: Path = typer.Option(None, "--out", help="Write all recommendations to this CSV."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Recommendations (with reasons, for a hybrid) for some or all customers."""
        import time

        from crmlens.recommend.base import load_model
        from crmlens.recommend.filemode import parse_customers
        from crmlens.recommend.hybrid import HybridRecommender

        fitted = load_model(model)
        ids = parse_customers(customers, fitted) if customers else None
        start = time.perf_counter()
        with progress(not as_json) as bar:
            task = bar.add_task("recommending", total=1)
            recs = fitted.recommend(ids, n=n, exclude_purchased=not include_purchased)
            if isinstance(fitted, HybridRecommender):
                names = getattr(fitted, "item_names_", None)
                lookup = (
                    dict(zip(fitted.item_ids_.tolist(), names.tolist(), strict=True))
                    if names is not None
                    else None
                )
                recs["reason"] = fitted.explain(recs, item_names=lookup).to_numpy()
            bar.advance(task)
        seconds = time.perf_counter() - start
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            recs.to_csv(out, index=False)
        n_customers = int(recs["customer_id"].nunique())
        payload = {
            "metrics": {
                "seconds": seconds,
                "customers": n_customers,
                "rows_per_s": len(recs) / seconds if seconds > 0 else None,
            },
            "anchors": {},
            "out": str(out) if out else None,
            "recommendations": recs.head(200).to_dict(orient="records") if (not out or customers) else [],
        }
        emit(payload, as_json, tables=[("recommendations", recs.head(50).to_dict(orient="records"))])


def _sep(value: str | None) -> str | None:
    if value is None:
        return None
    return {"\\t": "\t", "tab": "\t"}.get(value, value)
