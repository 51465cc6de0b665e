"""``crmlens propensity train|score`` (file mode) and ``crmlens models list|show`` (the registry)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from crmlens.cli._output import emit, err_console, progress


def _registry_dir(value: Path | None) -> Path:
    return value or Path(os.environ.get("CRMLENS_REGISTRY", "models"))


def register(app: typer.Typer) -> None:
    propensity = typer.Typer(
        help="Yes/no prediction on one file: churn, leads, response, credit risk.", no_args_is_help=True
    )
    models = typer.Typer(
        help="Saved models: versions, data hashes, parameters, metrics.", no_args_is_help=True
    )
    app.add_typer(propensity, name="propensity")
    app.add_typer(models, name="models")

    @propensity.command("train")
    def train(
        file: Path = typer.Argument(..., help="CSV (any separator, .gz ok), Parquet or XLSX file."),
        target: str = typer.Option(..., "--target", help="The yes/no column to predict."),
        model: Path = typer.Option(..., "--model", help="Where to save the model (.crmodel)."),
        id_col: str = typer.Option(None, "--id-col", help="Row id column (guessed when left out)."),
        time_col: str = typer.Option(
            None, "--time-col", help="Date column: evaluate on forward time splits."
        ),
        task: str = typer.Option(
            "propensity", "--task", help="Preset: churn, lead_conversion, response, credit_default."
        ),
        folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds."),
        drop: list[str] = typer.Option([], "--drop", help="A column to leave out (repeatable)."),
        keep_leaky: bool = typer.Option(False, "--keep-leaky", help="Keep columns the leakage guard flags."),
        trials: int = typer.Option(12, "--trials", min=1, help="LightGBM tuning trials (Optuna)."),
        benefit: float = typer.Option(None, "--benefit", help="Value of acting on a true positive."),
        cost: float = typer.Option(None, "--cost", help="Cost of acting on anyone (the offer, the call)."),
        capacity: int = typer.Option(None, "--capacity", help="How many rows you can act on."),
        seed: int = typer.Option(0, "--seed"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Cross-validated metrics of the chosen model beside default LightGBM and logistic regression."""
        from crmlens.predict.filemode import train_file

        with progress(enabled=not as_json) as bar:
            job = bar.add_task("train", total=folds + 2)

            def step(name: str) -> None:
                bar.update(job, description=name, advance=1)

            result = train_file(
                file,
                target,
                id_col=id_col,
                time_col=time_col,
                model_out=model,
                task=task,
                folds=folds,
                drop=tuple(drop),
                keep_leaky=keep_leaky,
                n_trials=trials,
                benefit=benefit,
                cost=cost,
                capacity=capacity,
                seed=seed,
                step=step,
            )
            bar.update(job, completed=folds + 2)
        result.pop("_model", None)
        result.pop("per_fold", None)
        for warning in result["leakage"]:
            err_console.print(f"[yellow]leakage:[/yellow] {warning['message']}", highlight=False)
        keys = ["roc_auc", "pr_auc", "brier", "log_loss", "f1", "recall_at_10", "lift_at_10"]
        rows = [{"model": "crmlens (chosen)", **{k: result["metrics"][k] for k in keys}}]
        rows += [{"model": name, **{k: m[k] for k in keys}} for name, m in result["anchors"].items()]
        emit(
            result,
            as_json,
            tables=[
                (f"{result['cv']}, {result['rows']:,} rows", rows),
                ("calibration (out of fold)", result["calibration"]),
                (
                    "reasons of the highest scores",
                    [
                        {"row": e["row"], "score": e["score"], "reasons": "; ".join(e["reasons"])}
                        for e in result["example_reasons"]
                    ],
                ),
                ("notes", [{"note": n} for n in result["notes"]]),
            ],
        )

    @propensity.command("score")
    def score(
        file: Path = typer.Argument(..., help="The rows to score (same columns as the training file)."),
        model: Path = typer.Option(..., "--model", help="A model file from `propensity train`."),
        out: Path = typer.Option(..., "--out", help="Output CSV or Parquet: id, score, label, reasons."),
        id_col: str = typer.Option(None, "--id-col"),
        top: int = typer.Option(3, "--top", min=1, help="Reasons per row."),
        capacity: int = typer.Option(
            None, "--capacity", help="Label only the N highest scores as the top tier."
        ),
        actions: Path = typer.Option(
            None, "--actions", help="JSON map: feature-name pattern -> suggested action."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Score every row, with its label, its top reasons as sentences, and a drift check."""
        from crmlens.predict.filemode import score_file

        with progress(enabled=not as_json) as bar:
            job = bar.add_task("score", total=2)
            result = score_file(
                file,
                model,
                out,
                id_col=id_col,
                top=top,
                capacity=capacity,
                actions_file=actions,
                step=lambda name: bar.update(job, description=name, advance=1),
            )
            bar.update(job, completed=2)
        for warning in result["drift_warnings"]:
            err_console.print(f"[yellow]drift:[/yellow] {warning}", highlight=False)
        emit(
            result,
            as_json,
            tables=[
                (
                    "scored",
                    [
                        {
                            "rows": result["rows"],
                            "out": result["out"],
                            "model": result["model_version"],
                            **result["labels"],
                            "rows_per_s": result["metrics"]["rows_per_s"],
                        }
                    ],
                ),
                ("drift (PSI, largest first)", result["drift"][:5]),
            ],
        )

    @models.command("list")
    def list_models(
        registry: Path = typer.Option(
            None, "--registry", help="Registry folder (default: ./models or CRMLENS_REGISTRY)."
        ),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Every saved model: version, task, when, data hash, headline metrics."""
        from crmlens.predict.registry import ModelRegistry

        found = ModelRegistry(_registry_dir(registry)).list()
        rows = [
            {
                "version": m["version"],
                "task": m["task"],
                "created_at": m["created_at"],
                "data_hash": m["training_data_hash"][:12],
                "roc_auc": m["metrics"].get("roc_auc"),
                "brier": m["metrics"].get("brier"),
                "features": len(m["used_features"]),
            }
            for m in found
        ]
        emit({"metrics": {}, "models": rows}, as_json, tables=[("models", rows)])

    @models.command("show")
    def show_model(
        ref: str = typer.Argument(..., help="A version (churn-v2), a task (its latest) or a .crmodel file."),
        registry: Path = typer.Option(None, "--registry"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """One model's manifest: parameters, choices, features, metrics, signature."""
        from crmlens.predict.registry import ModelRegistry

        manifest = ModelRegistry(_registry_dir(registry)).show(ref)
        payload = {"metrics": manifest.get("metrics", {}), "model": manifest}
        summary = [
            {"key": k, "value": str(v)}
            for k, v in manifest.items()
            if k not in {"params", "choices", "features", "used_features", "metrics"}
        ]
        emit(
            payload,
            as_json,
            tables=[
                ("model", summary),
                ("metrics", [manifest.get("metrics", {})]),
                ("choices", [{"key": k, "value": str(v)} for k, v in manifest["choices"].items()]),
            ],
        )
