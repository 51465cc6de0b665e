"""``crmlens clv fit``: lifetime value of the customers in one transactions file."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import typer

from crmlens.cli._output import emit, progress
from crmlens.exceptions import ConfigError


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Customer lifetime value: BG/NBD + Gamma-Gamma, holdout validation, tiers.")
    app.add_typer(group, name="clv")

    @group.command("fit")
    def fit(
        transactions: Path = typer.Argument(
            ..., help="Transactions file: CSV/TSV/whitespace text (.gz ok) or Parquet."
        ),
        customer_col: str = typer.Option(..., "--customer-col", help="Column of the customer id."),
        date_col: str = typer.Option(..., "--date-col", help="Column of the purchase date or timestamp."),
        amount_col: str = typer.Option(
            None, "--amount-col", help="Column of the order value (for spend and CLV)."
        ),
        quantity_col: str = typer.Option(
            None, "--quantity-col", help="Quantity column (amount = quantity x price)."
        ),
        price_col: str = typer.Option(None, "--price-col", help="Unit price column (with --quantity-col)."),
        date_format: str = typer.Option(
            None, "--date-format", help="strftime format of the dates, e.g. %d/%m/%Y."
        ),
        calibration_end: str = typer.Option(
            None, "--calibration-end", help="Last day of calibration (YYYY-MM-DD); default: the last date."
        ),
        holdout_end: str = typer.Option(None, "--holdout-end", help="Last day of the holdout (YYYY-MM-DD)."),
        holdout_days: int = typer.Option(
            None,
            "--holdout-days",
            help="Hold out the last N days (instead of --calibration-end/--holdout-end).",
        ),
        unit: str = typer.Option("W", "--unit", help="Time unit of the model: W (weeks) or D (days)."),
        model: str = typer.Option(
            "auto", "--model", help="bgnbd, mbgnbd, bgnbd_hc, mbgnbd_hc, or auto (lowest AIC on calibration)."
        ),
        horizon_days: float = typer.Option(365.0, "--horizon-days", help="CLV horizon in days."),
        margin: float = typer.Option(1.0, "--margin", help="Profit margin as a fraction of spend (0-1]."),
        discount_rate: float = typer.Option(0.0, "--discount-rate", help="Annual discount rate [0-1)."),
        out: Path = typer.Option(None, "--out", help="Write per-customer CLV here (.csv or .parquet)."),
        seed: int = typer.Option(
            0, "--seed", help="Seed (the fit is deterministic; kept for the CLI contract)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Fit BG/NBD (or MBG/NBD) + Gamma-Gamma on a transactions file; validate on a holdout if given."""
        from crmlens.clv import customer_value, fit_clv, read_transactions, validate_holdout
        from crmlens.clv.summary import summary_sql
        from crmlens.clv.value import assign_tiers
        from crmlens.engine import DuckDBEngine

        start = time.perf_counter()
        with progress(not as_json) as bar:
            task = bar.add_task("reading transactions", total=3)
            tx = read_transactions(
                transactions,
                customer_col,
                date_col,
                amount_col,
                quantity_col=quantity_col,
                price_col=price_col,
                date_format=date_format,
            )
            if tx.empty:
                raise ConfigError(f"{transactions}: no transactions with a customer id")
            last_day = tx["ts"].max().normalize()
            if holdout_days is not None:
                if calibration_end or holdout_end:
                    raise ConfigError("clv fit: use either --holdout-days or --calibration-end/--holdout-end")
                if holdout_days <= 0:
                    raise ConfigError("clv fit: --holdout-days must be > 0")
                holdout_end = str(last_day.date())
                calibration_end = str((last_day - pd.Timedelta(days=holdout_days)).date())
            if holdout_end and not calibration_end:
                raise ConfigError("clv fit: --holdout-end needs --calibration-end")
            bar.update(task, advance=1, description="fitting models")
            payload: dict = {"model_option": model, "unit": unit.upper()[:1], "file": str(transactions)}
            with DuckDBEngine(":memory:") as engine:
                engine.register("clv_transactions", tx)
                cols = {"table": "clv_transactions"}
                if holdout_end:
                    v = validate_holdout(
                        engine,
                        calibration_end,
                        holdout_end,
                        unit,
                        model,
                        horizon_days=horizon_days,
                        margin=margin,
                        discount_rate=discount_rate,
                        **cols,
                    )
                    result, customers, summary = v.result, v.customers, v.summary
                    payload["metrics"] = dict(v.metrics)
                    if v.spend_metrics:
                        payload["spend_metrics"] = v.spend_metrics
                    payload["by_frequency"] = v.plots["by_frequency"].to_dict("records")
                else:
                    cal = calibration_end or str(last_day.date())
                    summary = summary_sql(engine, cal, None, unit, **cols)
                    result = fit_clv(summary, unit=unit, model=model)
                    customers = customer_value(result, summary, horizon_days, margin, discount_rate)
                    customers["tier"] = assign_tiers(customers["clv"].fillna(customers["expected_purchases"]))
                    payload["metrics"] = {}
            bar.update(task, advance=1, description="writing")
            payload["calibration_end"] = calibration_end or str(last_day.date())
            payload["holdout_end"] = holdout_end
            payload["customers"] = len(summary)
            payload["model"] = result.model
            payload["aic"] = result.info.get("aic", {})
            payload["params"] = {
                **result.purchase_model.params_,
                **(
                    {f"gg_{k}": v for k, v in result.spend_model.params_.items()}
                    if result.spend_model
                    else {}
                ),
            }
            payload["total_clv"] = float(customers["clv"].sum()) if customers["clv"].notna().any() else None
            payload["tiers"] = customers["tier"].value_counts().to_dict()
            if out is not None:
                if out.suffix == ".parquet":
                    customers.to_parquet(out, index=False)
                else:
                    customers.to_csv(out, index=False)
                payload["out"] = str(out)
            bar.update(task, advance=1, description="done")
        payload["metrics"]["seconds"] = time.perf_counter() - start
        payload["metrics"]["rows_per_s"] = len(tx) / max(payload["metrics"]["seconds"], 1e-9)
        params_row = [{k: round(v, 4) for k, v in payload["params"].items()}]
        metric_rows = [dict(payload["metrics"])]
        emit(
            payload,
            as_json,
            tables=[
                ("holdout validation" if holdout_end else "fit", metric_rows),
                ("parameters", params_row),
                ("purchases by calibration frequency", payload.get("by_frequency", [])),
            ],
        )
