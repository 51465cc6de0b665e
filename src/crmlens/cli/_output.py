"""How every command speaks: one JSON object with ``--json``, Rich tables and progress bars otherwise."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _clean(value: Any) -> Any:
    """NaN and infinity are not JSON; they become null."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return _clean(value.item())
        except (ValueError, AttributeError):
            return value
    return value


def to_json(payload: Mapping[str, Any]) -> str:
    return json.dumps(_clean(payload), ensure_ascii=False, default=_default, indent=2)


def print_json(payload: Mapping[str, Any]) -> None:
    sys.stdout.write(to_json(payload) + "\n")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if value is None:
        return "—"
    return str(value)


def rows_table(rows: Sequence[Mapping[str, Any]], title: str | None = None) -> Table:
    """A Rich table from a list of dicts (the union of their keys, in first-seen order)."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    table = Table(title=title, show_lines=False)
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(_fmt(row.get(c)) for c in columns))
    return table


def emit(
    payload: Mapping[str, Any], as_json: bool, tables: Iterable[tuple[str, Sequence[Mapping[str, Any]]]] = ()
) -> None:
    """Print the command's result: the JSON object, or the given tables for people."""
    if as_json:
        print_json(payload)
        return
    shown = False
    for title, rows in tables:
        if rows:
            console.print(rows_table(rows, title))
            shown = True
    if not shown:
        metrics = payload.get("metrics")
        if isinstance(metrics, Mapping) and metrics:
            console.print(rows_table([metrics], "metrics"))
        else:
            console.print_json(to_json(payload))


def progress(enabled: bool = True) -> Progress:
    """The progress bar every long step shows (on stderr, so ``--json`` stdout stays clean)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not enabled,
        transient=False,
    )
