"""Assemble the report from sections; each capability contributes sections from its own tables.

Plotly's JavaScript is embedded once in the file, so the report opens offline.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from plotly.graph_objects import Figure
from plotly.offline import get_plotlyjs

from crmlens import __version__
from crmlens.engine.base import Engine


@dataclass
class Section:
    """A titled part of the report: an intro, tables and figures."""

    title: str
    intro: str = ""
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "".join(ch if ch.isalnum() else "-" for ch in self.title.lower()).strip("-")


def frame_table(frame: pd.DataFrame, max_rows: int = 50) -> Markup:
    """An HTML table of at most ``max_rows`` rows (values escaped)."""
    shown = frame.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for record in shown.itertuples(index=False):
        cells = []
        for value in record:
            if isinstance(value, float):
                text = "" if pd.isna(value) else f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
                cells.append(f'<td class="num">{text}</td>')
            elif isinstance(value, int):
                cells.append(f'<td class="num">{value:,}</td>')
            else:
                cells.append(f"<td>{html.escape('' if value is None else str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (
        f'<p class="more">{len(frame) - max_rows:,} more rows not shown</p>' if len(frame) > max_rows else ""
    )
    return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}")


SectionBuilder = Callable[[Engine], Section | None]


def build_report(
    engine: Engine, out: Path, builders: Sequence[SectionBuilder], title: str = "crmlens report"
) -> Path:
    """Run each section builder on the warehouse and write one self-contained HTML file."""
    sections = [s for s in (b(engine) for b in builders) if s is not None]
    env = Environment(
        loader=PackageLoader("crmlens.report", "templates"), autoescape=select_autoescape(["html"])
    )
    env.filters["table"] = frame_table
    env.filters["figure"] = lambda fig: Markup(fig.to_html(full_html=False, include_plotlyjs=False))
    page = env.get_template("report.html").render(
        title=title,
        sections=sections,
        plotly_js=Markup(get_plotlyjs()),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
