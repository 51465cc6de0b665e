"""The facade users hold: ``ws = crmlens.open(DIR)``; each capability hangs off it."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmlens.config import ProjectConfig, load_config
from crmlens.engine import DuckDBEngine
from crmlens.exceptions import NotFittedError
from crmlens.ingest import Loader, LoadResult, ensure_schema, quality_report

if TYPE_CHECKING:
    from crmlens.privacy.component import PrivacyComponent
    from crmlens.privacy.keys import ProjectKeys

PROJECT_FILE = "crmlens.yaml"


class Workspace:
    """A project folder: its ``crmlens.yaml`` and its warehouse."""

    def __init__(self, folder: Path, config: ProjectConfig, *, read_only: bool = False) -> None:
        self.folder = folder
        self.config = config
        warehouse = Path(config.warehouse)
        self.warehouse_path = warehouse if warehouse.is_absolute() else folder / warehouse
        self.engine = DuckDBEngine(self.warehouse_path, read_only=read_only, memory_limit=config.memory_limit)
        if not read_only:
            ensure_schema(self.engine)

    def ingest(
        self, sources: list[str] | None = None, on_input: Callable[[LoadResult], None] | None = None
    ) -> list[LoadResult]:
        """Load the project's sources (all, or the named ones) into the warehouse."""
        loader = Loader(self.engine, self.config, self.folder)
        if not sources:
            return loader.load_all(on_input)
        results = []
        for name in sources:
            for result in loader.load_source(self.config.source(name)):
                results.append(result)
                if on_input:
                    on_input(result)
        return results

    @cached_property
    def keys(self) -> ProjectKeys:
        """The project's pseudonymisation and vault keys (environment or key files outside the project)."""
        from crmlens.privacy.keys import project_keys

        return project_keys(self.config.privacy, self.folder)

    @property
    def audit_head(self) -> Path:
        """The file beside the warehouse that keeps the audit log's last hash (catches a cut-off log)."""
        return self.warehouse_path.with_name(self.warehouse_path.name + ".audit-head")

    @property
    def privacy(self) -> PrivacyComponent:
        """``ws.privacy``: scan, report, consent, erase, export and audit on this warehouse."""
        from crmlens.privacy.component import PrivacyComponent

        return PrivacyComponent(self.engine, audit_head=self.audit_head, keys=self.keys)

    @property
    def enforce_consent(self) -> bool:
        """``privacy.consent: enforce`` (the default): stages leave out customers without consent."""
        return self.config.privacy.enforce_consent

    def resolve_identities(self, seed: int = 0, **overrides: Any) -> dict[str, Any]:
        """Identity resolution with the project's ``identity`` options and privacy keys.

        With pseudonymised identifiers, identity reads their clear values from the vault (in
        memory, audited); with pseudonymisation but no vault it matches the tokens exactly.
        """
        from crmlens.identity import identity_options, resolve_identities
        from crmlens.privacy.audit import AuditLog

        options: dict[str, Any] = {
            "seed": seed,
            **identity_options(self.config.identity, self.folder),
            **overrides,
        }
        if self.config.engine == "spark":  # Splink on Spark; the warehouse itself stays in DuckDB
            from crmlens.engine import open_engine

            options.setdefault("spark", open_engine("spark"))
        privacy = self.config.privacy
        if privacy.pseudonymise:
            options.setdefault("pseudonym_key", self.keys.pseudonym)
            options.setdefault("vault_key", self.keys.vault if privacy.vault else None)
            options.setdefault("match_tokens", not privacy.vault)
            options.setdefault("audit", AuditLog(self.engine, head_path=self.audit_head))
        return resolve_identities(self.engine, **options)

    def build(self, as_of: str | list[str] | None = None, seed: int = 0) -> dict[str, Any]:
        """Resolve identities, then compute ``customer_360`` at each cutoff (default: the last order day).

        Settings come from the project file: the ``identity`` section (threshold, must_link,
        never_link, source_priority, survivorship) and ``features.as_of`` (a date or a list).
        Reviews and tickets not yet scored get their sentiment into ``text_sentiment`` first (the
        ``sentiment`` columns of ``customer_360``); ``features.text_sentiment: false`` skips that.
        """
        from crmlens.features import FeatureBuilder

        summary = self.resolve_identities(seed=seed)
        texts: dict[str, int] = {}
        if self.config.features.get("text_sentiment", True):  # reviews and tickets, scored once
            from crmlens.text.warehouse import score_texts

            texts = score_texts(self.engine)
        cutoffs = as_of or self.config.features.get("as_of") or self.latest_day()
        cutoffs = [cutoffs] if isinstance(cutoffs, str) else list(cutoffs)
        builder = FeatureBuilder(top_categories=self.config.features.get("top_categories", 8))
        profiles = {str(c): len(builder.build(self.engine, c)) for c in cutoffs}
        return {"identity": summary, "texts": texts, "customer_360": profiles}

    def latest_day(self) -> str:
        """The day after the last order: the natural cutoff for a profile of 'now'."""
        last = self.engine.query("SELECT max(ts) FROM orders").scalar()
        if last is None:
            raise NotFittedError("no orders in the warehouse: run `crmlens ingest` first")
        return (pd.Timestamp(last).normalize() + pd.Timedelta(days=1)).strftime("%Y-%m-%d")

    def status(self) -> dict[str, Any]:
        """Tables with row counts, and the latest load of each source."""
        tables = [{"table": t, "rows": self.engine.count(t)} for t in self.engine.tables()]
        loads = self.engine.query(
            "SELECT source, entity, file, status, rows_in, rows_loaded, rows_quarantined, finished_at "
            "FROM ingest_log QUALIFY row_number() OVER (PARTITION BY source, file ORDER BY finished_at DESC) = 1 "
            "ORDER BY source, file"
        ).to_pandas()
        return {"warehouse": str(self.warehouse_path), "tables": tables, "loads": loads.to_dict("records")}

    def quality(self) -> list[dict[str, object]]:
        return quality_report(self.engine)

    def quarantine_summary(self) -> list[dict[str, object]]:
        """Rejected rows by source and reason kind."""
        frame = self.engine.query(
            "SELECT source, entity, column_name AS column, regexp_replace(reason, '''[^'']*''|[0-9]+', '…', 'g') AS reason, "
            "count(*) AS rows, min(row_number) AS first_row FROM quarantine GROUP BY ALL ORDER BY rows DESC"
        ).to_pandas()
        return frame.to_dict("records")

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_workspace(folder: str | Path = ".", *, read_only: bool = False) -> Workspace:
    """Open the project in ``folder`` (the folder holding ``crmlens.yaml``)."""
    folder = Path(folder)
    return Workspace(folder, load_config(folder / PROJECT_FILE), read_only=read_only)
