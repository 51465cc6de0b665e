"""``crmlens bench NAME``: run ``benchmarks/NAME.py`` and print ours beside its anchors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import typer

from crmlens.benchmarking import BenchOptions, bench_dir
from crmlens.cli._output import console, emit, to_json
from crmlens.exceptions import ConfigError


def register(app: typer.Typer) -> None:
    @app.command("bench")
    def bench(
        name: str = typer.Argument(..., help="Benchmark name: a script benchmarks/NAME.py."),
        rows: int = typer.Option(None, "--rows", help="Data size, for benchmarks that scale (e.g. 1000000)."),
        engine: str = typer.Option(
            "duckdb", "--engine", help="duckdb or spark, where the benchmark has both."
        ),
        seed: int = typer.Option(0, "--seed"),
        quick: bool = typer.Option(False, "--quick", help="Smaller data, for a smoke run."),
        json_file: Path = typer.Option(None, "--json", help="Also write the result as JSON to this file."),
    ) -> None:
        """Run one benchmark: ours and its anchors side by side, in one run."""
        folder = bench_dir()
        script = folder / f"{name}.py"
        if not script.exists():
            known = ", ".join(sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")))
            raise ConfigError(f"bench: no benchmark {name!r}; known: {known}")
        spec = importlib.util.spec_from_file_location(f"crmlens_bench_{name}", script)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        result = module.run(BenchOptions(rows=rows, engine=engine, seed=seed, quick=quick))
        result.setdefault("benchmark", name)
        if json_file:
            json_file.write_text(to_json(result) + "\n", encoding="utf-8")
        emit(result, as_json=False, tables=[(f"bench {name}", result.get("results", []))])
        if result.get("notes"):
            for note in result["notes"]:
                console.print(f"- {note}")
