"""The static HTML report: sections built from warehouse tables, charts drawn by Plotly, no CDN."""

from crmlens.report.builder import Section, build_report, frame_table

__all__ = ["Section", "build_report", "frame_table"]
