"""Privacy and security: PII detection, pseudonymisation, consent, erasure, audit, access control,
encryption at rest and differential privacy."""

from crmlens.privacy.access import ROLES, AccessControl, AccessDenied, User, has_permission
from crmlens.privacy.audit import AuditLog, VerifyResult, verify_file
from crmlens.privacy.component import PrivacyComponent
from crmlens.privacy.consent import consent_coverage, consent_predicate, consented, filter_consented
from crmlens.privacy.crypto import (
    Sealer,
    decrypt_file,
    encrypt_file,
    encrypt_warehouse,
    load_warehouse_key,
    open_warehouse,
)
from crmlens.privacy.dp import (
    dp_by_segment,
    dp_count,
    dp_histogram,
    dp_mean,
    dp_sum,
    k_anonymity,
    safe_export,
    suppress_small_groups,
)
from crmlens.privacy.erasure import erase_customer, export_customer, find_subject
from crmlens.privacy.pii import (
    column_hint,
    find_pii,
    is_token,
    scan_table,
    scan_values,
    scan_warehouse,
    scrub_text,
)
from crmlens.privacy.pseudonymise import (
    Tokenizer,
    load_key,
    protect_staged,
    pseudonymise_columns,
    reveal,
    scrub_columns,
    select_columns,
)
from crmlens.privacy.report import privacy_report

__all__ = [
    "ROLES",
    "AccessControl",
    "AccessDenied",
    "AuditLog",
    "PrivacyComponent",
    "Sealer",
    "Tokenizer",
    "User",
    "VerifyResult",
    "column_hint",
    "consent_coverage",
    "consent_predicate",
    "consented",
    "decrypt_file",
    "dp_by_segment",
    "dp_count",
    "dp_histogram",
    "dp_mean",
    "dp_sum",
    "encrypt_file",
    "encrypt_warehouse",
    "erase_customer",
    "export_customer",
    "filter_consented",
    "find_pii",
    "find_subject",
    "has_permission",
    "is_token",
    "k_anonymity",
    "load_key",
    "load_warehouse_key",
    "open_warehouse",
    "privacy_report",
    "protect_staged",
    "pseudonymise_columns",
    "reveal",
    "safe_export",
    "scan_table",
    "scan_values",
    "scan_warehouse",
    "scrub_columns",
    "scrub_text",
    "select_columns",
    "suppress_small_groups",
    "verify_file",
]
