"""``ws.privacy``: the workspace's privacy component, one object over one warehouse.

Examples
--------
>>> from crmlens.engine import DuckDBEngine
>>> from crmlens.privacy.component import PrivacyComponent
>>> engine = DuckDBEngine(":memory:")
>>> engine.execute("CREATE TABLE customers AS SELECT 1 AS customer_id, TRUE AS consent_marketing")
>>> PrivacyComponent(engine).consented("marketing")["customer_id"].tolist()
[1]
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from crmlens.engine.base import Engine
from crmlens.privacy.audit import AuditLog, VerifyResult
from crmlens.privacy.consent import consent_predicate, consented
from crmlens.privacy.erasure import erase_customer, export_customer
from crmlens.privacy.keys import ProjectKeys
from crmlens.privacy.pii import scan_warehouse
from crmlens.privacy.pseudonymise import load_key, protect_staged
from crmlens.privacy.report import privacy_report

__all__ = ["PrivacyComponent"]


class PrivacyComponent:
    """Privacy operations on one warehouse; every change is written to its audit log.

    ``audit_head`` is the file that keeps the last audit hash outside the warehouse (the CLI uses
    ``<warehouse>.audit-head``); ``actor`` is who acts, for the log.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        audit_head: str | os.PathLike[str] | None = None,
        actor: str = "system",
        keys: ProjectKeys | None = None,
    ) -> None:
        self.engine = engine
        self.actor = actor
        self.audit_head = audit_head
        self.keys = keys

    @property
    def audit(self) -> AuditLog:
        return AuditLog(self.engine, head_path=self.audit_head)

    def protect_staged(self, table: str, entity: str, key: bytes | str | None = None) -> dict[str, object]:
        """Tokenise identifiers and scrub free text of a staged table (key from the environment by default)."""
        secret = key if key is not None else (self.keys.pseudonym if self.keys else None) or load_key()
        assert secret is not None
        vault = self.keys.vault if self.keys else None
        return protect_staged(self.engine, table, entity, secret, vault_key=vault)

    def consented(self, purpose: str) -> pd.DataFrame:
        return consented(self.engine, purpose)

    def predicate(self, purpose: str, column: str = "customer_id") -> str:
        return consent_predicate(self.engine, purpose, column)

    def scan(self, sample_rows: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
        return scan_warehouse(self.engine, sample_rows=sample_rows, seed=seed)

    def report(self, sample_rows: int = 2000, seed: int = 0) -> dict[str, Any]:
        return privacy_report(self.engine, sample_rows=sample_rows, seed=seed)

    def erase(
        self,
        customer: str | int,
        source: str | None = None,
        *,
        mode: str = "delete",
        reason: str = "data subject request",
        receipt_path: str | os.PathLike[str] | None = None,
    ) -> dict[str, Any]:
        return erase_customer(
            self.engine,
            customer,
            source,
            mode=mode,
            actor=self.actor,
            reason=reason,
            audit=self.audit,
            receipt_path=receipt_path,
            pseudonym_key=self._pseudonym_key,
            vault_key=self.keys.vault if self.keys else None,
        )

    @property
    def _pseudonym_key(self) -> bytes | None:
        return self.keys.pseudonym if self.keys else None

    def export(
        self, customer: str | int, source: str | None = None, vault_key: str | bytes | None = None
    ) -> dict[str, Any]:
        data = export_customer(
            self.engine, customer, source, vault_key=vault_key, pseudonym_key=self._pseudonym_key
        )
        self.audit.append(
            self.actor,
            "privacy.export",
            target="export",
            purpose="data subject access request",
            details={"tables": sorted(data["tables"]), "vault": vault_key is not None},
        )
        return data

    def verify_audit(self) -> VerifyResult:
        return self.audit.verify()
