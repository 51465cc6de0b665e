"""Project commands: init, ingest, status, quality, demo."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Registered by the foundation; filled in as the pipeline grows."""
