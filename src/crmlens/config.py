"""The project file ``crmlens.yaml`` as pydantic models; every error names the key and the fix.

Credentials never sit in the file: a SQL source names the environment variable that holds its
URL (``url_env``).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crmlens.exceptions import ConfigError
from crmlens.schema import resolve_entity

FILE_KINDS = ("csv", "tsv", "excel", "parquet", "json", "ndjson")
SQL_KINDS = ("sqlite", "postgres", "mysql")
SourceKind = Literal["csv", "tsv", "excel", "parquet", "json", "ndjson", "sqlite", "postgres", "mysql"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Incremental(_Strict):
    """Load only rows whose ``column`` is above the last load's watermark."""

    column: str


class SourceConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    kind: SourceKind
    entity: str
    path: str | None = None
    url_env: str | None = None
    table: str | None = None
    query: str | None = None
    encoding: str = "auto"
    delimiter: str | None = None
    sheet: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    timezone: str | None = None
    decimal: Literal["auto", ".", ","] = "auto"
    date_order: Literal["YMD", "DMY", "MDY"] = "YMD"
    incremental: Incremental | None = None
    pii: bool = True

    @field_validator("entity")
    @classmethod
    def _known_entity(cls, value: str) -> str:
        try:
            return resolve_entity(value).name
        except KeyError as exc:
            raise ValueError(str(exc).strip("'\"")) from exc

    @model_validator(mode="after")
    def _location(self) -> SourceConfig:
        if self.kind in FILE_KINDS or self.kind == "sqlite":
            if not self.path:
                raise ValueError(f"a {self.kind} source needs 'path' (a file, or a glob for many files)")
        if self.kind in ("postgres", "mysql") and not self.url_env:
            raise ValueError(
                f"a {self.kind} source needs 'url_env': the name of the environment variable holding its URL "
                "(credentials never go in crmlens.yaml)"
            )
        if self.kind in SQL_KINDS and not (self.table or self.query):
            raise ValueError(f"a {self.kind} source needs 'table' or 'query'")
        return self


class PrivacyConfig(_Strict):
    """How personal data is protected. Keys never sit here: a setting may name a key file outside
    the project, or the environment variable that holds the key.

    ``pseudonymise`` replaces identifiers by keyed HMAC tokens at ingest; ``vault`` keeps their
    clear values encrypted under a second key, for identity resolution (fuzzy name and address
    matching) and the roles allowed to read them. ``consent: enforce`` keeps customers without
    consent out of profiling (training, scoring, segments, CLV, recommendations) and marketing
    (target lists, next best actions, offers). A file without this section keeps clear values
    (projects from before pseudonymisation); ``crmlens init`` and the demo turn it on.
    """

    pseudonymise: bool = False
    key_env: str = "CRMLENS_PSEUDONYM_KEY"
    key_file: str | None = None
    vault: bool = True
    vault_key_env: str = "CRMLENS_VAULT_KEY"
    vault_key_file: str | None = None
    consent: Literal["enforce", "off"] = "enforce"

    @field_validator("consent", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: Any) -> Any:
        """YAML reads a bare ``off`` (and ``on``) as a boolean: take it as the user meant it."""
        return {False: "off", True: "enforce"}.get(value, value) if isinstance(value, bool) else value

    @property
    def enforce_consent(self) -> bool:
        return self.consent == "enforce"


class ProjectConfig(_Strict):
    warehouse: str = "crmlens.duckdb"
    engine: Literal["duckdb", "spark"] = "duckdb"
    default_region: str = "CN"
    timezone: str = "Asia/Shanghai"
    memory_limit: str | None = None  # DuckDB's limit for every stage (default: most of the RAM)
    load_memory_limit: str = Field(
        "1GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$"
    )  # while loading, staged rows spill to disk past this: bounded memory
    sources: list[SourceConfig] = Field(default_factory=list)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    # Sections later stages own; validated by those stages.
    identity: dict[str, Any] = Field(default_factory=dict)
    features: dict[str, Any] = Field(default_factory=dict)
    models: dict[str, Any] = Field(default_factory=dict)
    segments: dict[str, Any] = Field(default_factory=dict)
    support: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_names(self) -> ProjectConfig:
        seen: set[str] = set()
        for i, source in enumerate(self.sources):
            if source.name in seen:
                raise ValueError(
                    f"sources[{i}].name {source.name!r} is used twice; source names must be unique"
                )
            seen.add(source.name)
        return self

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(
            f"no source named {name!r}; the project has: {', '.join(s.name for s in self.sources)}"
        )


def _key_path(loc: tuple[Any, ...], data: Any) -> str:
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            name = node[item].get("name") if isinstance(node, list) and isinstance(node[item], dict) else None
            parts[-1] = f"{parts[-1]}[{item}]" + (f" ({name})" if name else "") if parts else f"[{item}]"
        else:
            parts.append(str(item))
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts)


def _explain(exc: ValidationError, data: Any) -> str:
    messages = []
    for error in exc.errors():
        key = _key_path(tuple(error["loc"]), data)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            field = str(error["loc"][-1])
            parent_model = (
                ProjectConfig
                if len(error["loc"]) == 1
                else PrivacyConfig
                if error["loc"][0] == "privacy"
                else SourceConfig
            )
            close = difflib.get_close_matches(field, list(parent_model.model_fields), n=1)
            message = "unknown key" + (f"; did you mean {close[0]!r}?" if close else "")
        elif error["type"] == "literal_error":
            message = f"{message} (got {error.get('input')!r})"
        elif error["type"] == "missing":
            message = "required key is missing"
        messages.append(f"{key}: {message}")
    return "; ".join(messages)


def parse_config(data: Any, origin: str = "crmlens.yaml") -> ProjectConfig:
    """Validate a loaded YAML document; a :class:`ConfigError` names each bad key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the file must hold a mapping of keys (warehouse, sources, ...)")
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: {_explain(exc, data)}") from None


def load_config(path: str | Path) -> ProjectConfig:
    """Read and validate ``crmlens.yaml``; relative paths in it are relative to its folder."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: project file not found; create one with `crmlens init DIR`")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, str(path))


EXAMPLE = """\
# crmlens project file. Paths are relative to this folder. Credentials never go here:
# a database source names the environment variable that holds its URL.
warehouse: crmlens.duckdb          # the DuckDB file every stage reads and writes
default_region: CN                 # phone numbers without a country code are read as this region's
timezone: Asia/Shanghai            # timestamps without a zone are in this zone; stored as UTC
load_memory_limit: 1GB             # a load spills to disk past this, so its memory does not grow with the file

sources:
  - name: shop_orders
    kind: csv                      # csv | tsv | excel | parquet | json | ndjson | sqlite | postgres | mysql
    path: exports/orders*.csv      # a glob loads many files, each logged on its own
    entity: orders                 # a canonical table: customers, orders, products, events, feedback, tickets, ...
    encoding: auto                 # auto detects UTF-8 / UTF-8-BOM / GB18030 / Big5 / Latin-1
    columns: {订单号: order_id, 客户ID: customer_key, 下单时间: ts, 金额: amount}
    # unmapped columns are kept in the 'attributes' JSON column; `crmlens ingest --propose FILE` suggests a mapping

#  - name: crm
#    kind: postgres
#    url_env: CRM_DATABASE_URL     # e.g. export CRM_DATABASE_URL=postgresql://user:pass@host:5432/db
#    table: public.customers       # or query: "select ..."
#    entity: customers
#    incremental: {column: updated_at}   # later loads take only rows above the last watermark

privacy:                           # `crmlens init` writes the two key files beside the project and names them here
  pseudonymise: true               # identifiers become keyed HMAC tokens at ingest; joins still work
  key_env: CRMLENS_PSEUDONYM_KEY   # or the key in this environment variable; keys never go in this file
  vault: true                      # clear values kept only encrypted in pii_vault (identity resolution reads them)
  consent: enforce                 # enforce | off: opted-out customers are never profiled or targeted
"""
