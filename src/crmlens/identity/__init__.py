"""Identity resolution: deterministic rules, then Splink, then golden records with stable ids.

``resolve_identities(engine)`` is the warehouse stage; ``dedup_frame`` is file mode on one list.
"""

from crmlens.identity.config import identity_options
from crmlens.identity.explain import explain_record
from crmlens.identity.filemode import dedup_frame, read_table
from crmlens.identity.linkage import RecordLinker
from crmlens.identity.normalise import name_key, name_parts, normalise_email, normalise_phone
from crmlens.identity.roles import ROLES, guess_roles
from crmlens.identity.warehouse import DEFAULT_SURVIVORSHIP, golden_records, resolve_identities

__all__ = [
    "DEFAULT_SURVIVORSHIP",
    "ROLES",
    "RecordLinker",
    "dedup_frame",
    "explain_record",
    "golden_records",
    "guess_roles",
    "identity_options",
    "name_key",
    "name_parts",
    "normalise_email",
    "normalise_phone",
    "read_table",
    "resolve_identities",
]
