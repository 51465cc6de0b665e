"""customer_360 from N order lines (events and tickets in proportion), beside pandas and a bare RFM.

Anchors in the same run, on the same tables: a bare RFM group-by in DuckDB (the floor: the
profile should stay within a few times of it) and a straightforward pandas implementation of the
order, event and ticket families, whose numbers must equal ours. ``--engine spark`` also times
the same SQL on a local Spark session.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmlens.benchmarking import BenchOptions, fastest, measure, timed
from crmlens.engine import DuckDBEngine
from crmlens.features import FeatureBuilder
from crmlens.ingest import ensure_schema

AS_OF = pd.Timestamp("2024-07-01")
REPEATS = 3
FAMILIES = ["rfm", "rhythm", "trend", "basket", "category", "price", "channel", "web", "support"]


def make_tables(engine: DuckDBEngine, rows: int, seed: int) -> None:
    """Order lines over two years for rows/10 customers; events rows/2; tickets rows/100."""
    ensure_schema(engine)
    customers = max(rows // 10, 10)
    engine.execute(
        f"""INSERT INTO products (product_id, category, price)
            SELECT 'P' || i, 'cat' || (i % 12), 5 + (hash(i + {seed}) % 20000) / 100.0 FROM range(1000) t(i)"""
    )
    engine.execute(
        f"""INSERT INTO orders (order_id, line_no, customer_id, ts, product_id, quantity, unit_price, discount,
                                amount, channel)
            SELECT 'O' || (i // 2), i % 2 + 1, hash(i // 2 + {seed}) % {customers},
                   TIMESTAMP '2022-07-01' + to_seconds((hash(i // 2) % 63072000)::BIGINT), 'P' || (hash(i) % 1000),
                   1 + hash(i * 7) % 3, 5 + (hash(i * 3) % 20000) / 100.0,
                   CASE WHEN hash(i * 5) % 4 = 0 THEN 2.0 ELSE 0 END,
                   (1 + hash(i * 7) % 3) * (5 + (hash(i * 3) % 20000) / 100.0),
                   ['web', 'app', 'store'][(1 + hash(i // 2) % 3)::BIGINT]
            FROM range({rows}) t(i)"""
    )
    engine.execute(
        f"""INSERT INTO events (customer_id, ts, event_type, product_id, session_id)
            SELECT hash(i // 4 + {seed}) % {customers}, TIMESTAMP '2022-07-01' + to_seconds((hash(i // 4) % 63072000 + i % 4 * 60)::BIGINT),
                   ['view', 'view', 'cart', 'purchase'][(1 + hash(i) % 4)::BIGINT], 'P' || (hash(i) % 1000), 'S' || (i // 4)
            FROM range({rows // 2}) t(i)"""
    )
    engine.execute(
        f"""INSERT INTO tickets (ticket_id, customer_id, ts, priority, resolved_at)
            SELECT 'T' || i, hash(i + {seed}) % {customers}, TIMESTAMP '2022-07-01' + to_seconds((hash(i) % 63072000)::BIGINT),
                   ['low', 'high', 'urgent'][(1 + hash(i * 3) % 3)::BIGINT],
                   TIMESTAMP '2022-07-01' + to_seconds((hash(i) % 63072000 + hash(i * 11) % 500000)::BIGINT)
            FROM range({max(rows // 100, 1)}) t(i)"""
    )


def pandas_profile(
    orders: pd.DataFrame, products: pd.DataFrame, events: pd.DataFrame, tickets: pd.DataFrame
) -> pd.DataFrame:
    """The order, event and ticket families written plainly in pandas (the reference)."""
    day = pd.Timedelta(days=1)
    o = orders[(orders.ts < AS_OF) & orders.customer_id.notna()].copy()
    o["date"] = o.ts.dt.normalize()
    g = o.groupby("customer_id")
    out = pd.DataFrame(
        {
            "recency_days": (AS_OF.normalize() - g.date.max()) // day,
            "frequency": g.order_id.nunique(),
            "monetary": g.amount.sum(),
            "tenure_days": (AS_OF.normalize() - g.date.min()) // day,
            "order_lines": g.size(),
            "distinct_products": g.product_id.nunique(),
        }
    )
    out["avg_order_value"] = out.monetary / out.frequency
    out["lines_per_order"] = out.order_lines / out.frequency
    firsts = (
        o.groupby(["customer_id", "order_id"])
        .ts.min()
        .reset_index()
        .sort_values(["customer_id", "ts", "order_id"])
    )
    firsts["gap"] = firsts.ts.dt.normalize().groupby(firsts.customer_id).diff() // day
    gaps = firsts.groupby("customer_id").gap
    out["ipd_mean_days"] = gaps.mean()
    out["ipd_std_days"] = gaps.std()
    recent = o[o.ts >= AS_OF - 180 * day]
    last90 = recent.ts >= AS_OF - 90 * day
    out["spend_90d"] = recent[last90].groupby("customer_id").amount.sum()
    out["spend_prev_90d"] = recent[~last90].groupby("customer_id").amount.sum()
    out["orders_90d"] = recent[last90].groupby("customer_id").order_id.nunique()
    o = o.merge(products[["product_id", "category", "price"]], on="product_id", how="left")
    o["discounted"] = (o.discount.fillna(0) > 0).astype(float)
    g = o.groupby("customer_id")
    out["discount_line_share"] = g.discounted.mean()
    out["channel_share_web"] = o[o.channel == "web"].groupby("customer_id").order_id.nunique() / out.frequency
    out["cat_share_cat0"] = o[o.category == "cat0"].groupby("customer_id").amount.sum() / out.monetary
    e = events[(events.ts < AS_OF) & events.customer_id.notna()]
    eg = e.groupby("customer_id")
    out["events_total"] = eg.size()
    out["views_30d"] = e[(e.event_type == "view") & (e.ts >= AS_OF - 30 * day)].groupby("customer_id").size()
    t = tickets[(tickets.ts < AS_OF) & tickets.customer_id.notna()]
    out["tickets_total"] = t.groupby("customer_id").size()
    out["tickets_open"] = t[t.resolved_at.isna() | (t.resolved_at >= AS_OF)].groupby("customer_id").size()
    for column in [
        "spend_90d",
        "spend_prev_90d",
        "orders_90d",
        "events_total",
        "views_30d",
        "tickets_total",
        "tickets_open",
        "channel_share_web",
        "cat_share_cat0",
    ]:
        out[column] = out[column].fillna(0)
    return out.sort_index()


def _compare(ours: pd.DataFrame, reference: pd.DataFrame) -> float:
    """Largest relative difference over the shared customers and columns (must be ~0)."""
    ours = ours.set_index("customer_id")
    common = reference.index.intersection(ours.index)
    worst = 0.0
    for column in reference.columns:
        a = ours.loc[common, column].astype(float).to_numpy()
        b = reference.loc[common, column].astype(float).to_numpy()
        mask = ~(np.isnan(a) & np.isnan(b))
        if np.any(np.isnan(a[mask]) != np.isnan(b[mask])):
            raise AssertionError(f"features bench: {column}: missing values differ from pandas")
        valid = mask & ~np.isnan(a)
        rel = np.abs(a[valid] - b[valid]) / np.maximum(np.abs(b[valid]), 1e-9)
        worst = max(worst, float(rel.max()) if rel.size else 0.0)
        if worst > 1e-6:
            raise AssertionError(f"features bench: {column} differs from pandas (relative {worst:.3g})")
    return worst


def _arrow(engine: DuckDBEngine, sql: str) -> Any:
    return engine.query(sql).to_arrow()


def run(options: BenchOptions) -> dict[str, Any]:
    sizes = [options.rows] if options.rows else ([100_000] if options.quick else [1_000_000, 10_000_000])
    results: list[dict[str, Any]] = []
    headline: dict[str, dict[str, Any]] = {}
    builder = FeatureBuilder(
        families=FAMILIES, top_categories=["cat0", "cat1", "cat2"], channels=["web", "app", "store"]
    )
    for rows in sizes:
        with DuckDBEngine(":memory:") as engine:
            make_tables(engine, rows, options.seed)
            bare_rfm = (
                f"SELECT customer_id, max(ts), count(DISTINCT order_id), sum(amount) FROM orders "
                f"WHERE ts < TIMESTAMP '{AS_OF}' GROUP BY customer_id"
            )
            bare_runs, ours_runs = [], []
            for _ in range(REPEATS):  # rounds of both: a slow spell of the machine hits them alike
                bare_runs.append(timed(partial(_arrow, engine, bare_rfm))[1])
                ours, ours_run = timed(partial(builder.build, engine, AS_OF, write=False))
                ours_runs.append(ours_run)
            bare, ours_m = fastest(bare_runs), fastest(ours_runs)
            n_customers = len(ours)
            candidates = {"crmlens_duckdb": ours_m, "duckdb_bare_rfm": bare}
            if rows <= 10_000_000:
                frames = {t: engine.table(t).to_pandas() for t in ("orders", "products", "events", "tickets")}
                with measure() as pandas_m:
                    reference = pandas_profile(
                        frames["orders"], frames["products"], frames["events"], frames["tickets"]
                    )
                del frames
                worst = _compare(ours, reference)
                candidates["pandas"] = pandas_m
            if options.engine == "spark":
                from crmlens.engine.spark import SparkEngine

                spark = SparkEngine()
                scratch = Path(tempfile.mkdtemp(prefix="crmlens_bench_"))
                for table in ("orders", "products", "events", "tickets"):
                    engine.execute(f"COPY {table} TO '{scratch / table}.parquet' (FORMAT parquet)")
                    spark.spark.read.parquet(f"{scratch / table}.parquet").createOrReplaceTempView(table)
                start = time.perf_counter()
                spark_frame = builder.build(spark, AS_OF, write=False)
                candidates["crmlens_spark_local2"] = type(bare)(seconds=time.perf_counter() - start)
                assert len(spark_frame) == n_customers
                shutil.rmtree(scratch)
        for name, m in candidates.items():
            row = {
                "rows": rows,
                "customers": n_customers,
                "model": name,
                "seconds": round(m.seconds, 2),
                "rows_per_s": round(rows / m.seconds),
                "peak_mem_mb": round(m.peak_mem_mb),
            }
            results.append(row)
            headline[name] = row
        results.append(
            {
                "rows": rows,
                "model": "crmlens / bare RFM",
                "seconds": round(ours_m.seconds / bare.seconds, 2),
                "max_rel_diff_vs_pandas": worst,
            }
        )

    def pick(row: dict[str, Any]) -> dict[str, Any]:
        return {k: row[k] for k in ("seconds", "rows_per_s", "peak_mem_mb")}

    return {
        "metrics": {
            **pick(headline["crmlens_duckdb"]),
            "times_bare_rfm": headline["crmlens_duckdb"]["seconds"]
            / max(headline["duckdb_bare_rfm"]["seconds"], 1e-9),
        },
        "anchors": {name: pick(row) for name, row in headline.items() if name != "crmlens_duckdb"},
        "results": results,
        "notes": [
            f"families: {', '.join(FAMILIES)}; pandas reproduces their columns and must agree to 1e-6",
            "peak_mem_mb: growth of this process's RSS during the step",
            f"crmlens and the bare RFM run {REPEATS} times each, in rounds: the fastest run's time and the "
            "largest run's memory count; pandas and Spark run once",
        ],
    }
