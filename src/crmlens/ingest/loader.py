"""Load sources into the canonical tables: one transaction per input, nothing lost, all reconciled.

For each input the loader reads the raw text once, cleaning and testing every row with SQL
rules on the way into a staging table; then, in one transaction, it upserts the good rows on the
table's natural key, quarantines the bad ones with their reason, row and raw values, and writes
``ingest_log``, checked against ``rows_in = rows_loaded + rows_quarantined`` before it commits.
Re-loading a file already loaded changes nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from crmlens.config import FILE_KINDS, ProjectConfig, SourceConfig
from crmlens.engine.duckdb import DuckDBEngine
from crmlens.exceptions import SourceError, ValidationError
from crmlens.ingest import files, sql
from crmlens.ingest.mapping import resolve
from crmlens.ingest.quality import (
    CleanOptions,
    column_rule,
    fold_expr,
    lit,
    null_token_expr,
    q,
    register_functions,
)
from crmlens.schema import DERIVED_DDL, LOAD_ORDER, TABLES, Table

# Reference checks: a value must exist in another table (when that table has rows).
REFERENCES = {("orders", "product_id"): ("products", "product_id")}
# Up to this many lines rejected by the CSV reader shift row numbers inline; more are joined.
INLINE_REJECTS = 64
# How a quarantined duplicate's row says its values are not the text as it came.
CLEANED_NOTE = "cleaned (times in UTC): this duplicate passed every check"


@dataclass(frozen=True)
class Staged:
    """What staging learnt that publishing needs: the mapped columns, and the header of each."""

    columns: list[str]
    derived_line_no: bool  # line numbers were made from file order (the input had none)
    rejects: bool  # the CSV reader rejected malformed lines
    headers: dict[str, str]  # canonical column -> source header


@contextmanager
def _timed(steps: dict[str, float], name: str) -> Iterator[None]:
    """Add the wall seconds of the block to ``steps[name]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        steps[name] = round(steps.get(name, 0.0) + time.perf_counter() - started, 3)


def _unreadable(source: SourceConfig, spec: files.ReadSpec, exc: duckdb.Error) -> SourceError:
    return SourceError(source.name, f"{spec.label}: cannot read: {str(exc).splitlines()[0]}")


@dataclass
class LoadResult:
    source: str
    entity: str
    file: str
    load_id: str
    status: str  # loaded | unchanged
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    watermark: str | None = None
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # wall seconds per step: where a load's time goes

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def ensure_schema(engine: DuckDBEngine) -> None:
    """Create every canonical table that does not exist yet."""
    for table in TABLES.values():
        engine.execute(table.ddl())
    for ddl in DERIVED_DDL.values():
        engine.execute(ddl)


class Loader:
    """Loads a project's sources into its warehouse."""

    def __init__(self, engine: DuckDBEngine, config: ProjectConfig, base: Path) -> None:
        self.engine = engine
        self.config = config
        self.base = base
        self.pseudonym_key: bytes | None = None
        self.vault_key: bytes | None = None
        if config.privacy.pseudonymise:  # keys from the environment or key files outside the project
            from crmlens.privacy.keys import project_keys

            keys = project_keys(config.privacy, base)
            self.pseudonym_key = keys.pseudonym
            self.vault_key = keys.vault if config.privacy.vault else None
        ensure_schema(engine)
        if self.pseudonym_key is not None:
            from crmlens.privacy.pseudonymise import check_key

            check_key(engine, self.pseudonym_key)
        register_functions(engine, config.default_region)
        engine.execute("SET enable_progress_bar = false")

    def plan(self) -> list[SourceConfig]:
        """Sources in load order: referenced tables (products, customers) first."""
        return sorted(self.config.sources, key=lambda s: LOAD_ORDER.index(s.entity))

    def load_all(self, on_input: Callable[[LoadResult], None] | None = None) -> list[LoadResult]:
        results = []
        for source in self.plan():
            for result in self.load_source(source):
                results.append(result)
                if on_input:
                    on_input(result)
        return results

    def load_source(self, source: SourceConfig) -> list[LoadResult]:
        if source.kind in FILE_KINDS:
            results = []
            for path in files.expand(source, self.base):
                fingerprint = files.file_hash(path)
                if self._already_loaded(source, fingerprint):
                    results.append(self._unchanged(source, str(path), fingerprint))
                else:
                    results.append(
                        self._load(source, files.read_spec(self.engine, source, path, fingerprint))
                    )
            return results
        watermark = self._last_watermark(source) if source.incremental else None
        return [self._load(source, sql.read_spec(self.engine, source, self.base, watermark))]

    def _last_watermark(self, source: SourceConfig) -> str | None:
        return self.engine.query(
            "SELECT watermark FROM ingest_log WHERE source = $s AND watermark IS NOT NULL "
            "ORDER BY finished_at DESC LIMIT 1",
            {"s": source.name},
        ).scalar()

    def _already_loaded(self, source: SourceConfig, fingerprint: str) -> bool:
        n = self.engine.query(
            "SELECT count(*) FROM ingest_log WHERE source = $s AND file_hash = $h AND status = 'loaded'",
            {"s": source.name, "h": fingerprint},
        ).scalar()
        return bool(n)

    def _unchanged(self, source: SourceConfig, label: str, fingerprint: str) -> LoadResult:
        result = LoadResult(source.name, source.entity, label, uuid.uuid4().hex[:12], "unchanged")
        self._started = datetime.now(UTC).replace(tzinfo=None)
        self._log(result, fingerprint, "the same file was loaded before; nothing to do")
        return result

    def _load(self, source: SourceConfig, spec: files.ReadSpec) -> LoadResult:
        table = TABLES[source.entity]
        load_id = uuid.uuid4().hex[:12]
        started = time.perf_counter()
        result = LoadResult(source.name, table.name, spec.label, load_id, "loaded")
        self._started = datetime.now(UTC).replace(tzinfo=None)
        con = self.engine.con
        con.execute(f"SET memory_limit = {lit(self.config.load_memory_limit)}")
        try:
            # Staging builds temp tables only; the warehouse changes in one short transaction after it.
            # (Temp tables made inside the transaction would be scanned single-threaded from its local storage.)
            staged = self._stage(source, spec, table, result.steps)
            with self.engine.transaction():
                self._publish(source, spec, table, result, staged)
                self._log(result, spec.fingerprint, None)
        except duckdb.Error as exc:
            raise SourceError(source.name, f"{spec.label}: load failed and was rolled back: {exc}") from None
        finally:
            spec.cleanup()
            con.execute("DROP VIEW IF EXISTS __staged")
            for name in ("__clean", "__numbered", "__rejects", "__dups"):
                con.execute(f"DROP TABLE IF EXISTS {name}")
            limit = self.engine.memory_limit
            con.execute(f"SET memory_limit = {lit(limit)}" if limit else "RESET memory_limit")
        result.seconds = time.perf_counter() - started
        return result

    def _stage(
        self, source: SourceConfig, spec: files.ReadSpec, table: Table, steps: dict[str, float]
    ) -> Staged:
        """Read, clean and test every row into ``__clean`` in one pass, then mark duplicates (each
        step's seconds go to ``steps``); the ``__staged`` view adds each row's number in the input.

        The input is scanned once and never copied as raw text: a failing row keeps its raw values
        as JSON beside its reason, a passing row only its cleaned ones.
        """
        con = self.engine.con
        con.execute(f"SET TimeZone = {lit(source.timezone or self.config.timezone)}")
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {spec.sql}").fetchall()
        except duckdb.Error as exc:
            raise _unreadable(source, spec, exc) from None
        headers = [row[0] for row in described if row[0] != sql.WATERMARK_COLUMN]
        watermark = ", r." + sql.WATERMARK_COLUMN if len(headers) < len(described) else ""
        mapping, problems = resolve(headers, source.columns, table)
        missing = [c.name for c in table.columns if c.required and c.name not in mapping.columns]
        if missing:
            problems.append(
                f"required column(s) {', '.join(missing)} missing: map a header to each under "
                f"sources ({source.name}).columns (headers: {', '.join(headers)})"
            )
        if problems:
            raise ValidationError(f"source {source.name!r}: {spec.label}: " + "; ".join(problems))

        options = CleanOptions(
            source.timezone or self.config.timezone,
            source.decimal,
            source.date_order,
            self.config.default_region,
        )
        present, nulled, values, failures, columns, softs = [], [], [], [], [], []
        for column in table.columns:
            header = mapping.columns.get(column.name)
            if header is None:
                continue
            p_ref, t_ref = q("__p_" + column.name), q("__t_" + column.name)
            present.append(f"{fold_expr('r.' + q(header))} AS {p_ref}")
            nulled.append(f"{null_token_expr('l0.' + p_ref)} AS {p_ref}")
            if column.kind == "text":
                present.append(f"r.{q(header)} AS {t_ref}")
            rule = column_rule(column, f"l1.{p_ref}", f"l1.{t_ref}", options, value_ref=f"v.{q(column.name)}")
            columns.append(column.name)
            values.append(f"{rule.value} AS {q(column.name)}")
            failure = rule.failure.replace("l1.", "v.")
            (softs if rule.soft else failures).append((column.name, failure))
        for (entity, column_name), (ref_table, ref_column) in REFERENCES.items():
            if entity == table.name and column_name in columns and self.engine.count(ref_table):
                failures.append(
                    (
                        f"{column_name}_ref",
                        (
                            f"CASE WHEN v.{q(column_name)} IS NOT NULL AND v.{q(column_name)} NOT IN "
                            f"(SELECT {q(ref_column)} FROM {q(ref_table)}) THEN "
                            f"{lit(column_name + ': unknown ' + ref_column + ' ')} || v.{q(column_name)} END"
                        ),
                    )
                )
        checks = [f"{f} AS {q('__f_' + name)}" for name, f in failures + softs]
        helper_columns = (
            ["__row"]
            + [c.split(" AS ")[-1] for c in present]
            + [q("__f_" + name) for name, _ in failures + softs]
        )
        # A rejected row's verdict: its reasons, the first failing column and the raw row as it came.
        # Most rows pass every test: a cheap all-NULL check spares them that work and leaves NULL.
        verdict = "NULL::JSON"
        if failures:
            passed = " AND ".join(f"f.{q('__f_' + n)} IS NULL" for n, _ in failures)
            reasons = ", ".join(f"f.{q('__f_' + n)}" for n, _ in failures)
            first = ", ".join(
                f"CASE WHEN f.{q('__f_' + n)} IS NOT NULL THEN {lit(n.removesuffix('_ref'))} END"
                for n, _ in failures
            )
            verdict = (
                f"CASE WHEN {passed} THEN NULL ELSE json_object('reason', concat_ws('; ', {reasons}), "
                f"'column', coalesce({first}), 'raw', to_json(f.__row)) END"
            )
        attributes = self._attributes(mapping.unmapped, [n for n, _ in softs])
        attributes = f", {attributes} AS attributes" if attributes else ""  # not stored when always NULL
        for stale in ("__reject_errors", "__reject_scans"):  # each read keeps only its own rejects
            con.execute(f"DROP TABLE IF EXISTS {stale}")
        # Layered so each step runs once per row: fold the text (l1), clean it (v), test it (f), keep the verdict.
        try:
            with _timed(steps, "read_clean"):
                con.execute(
                    f"""CREATE OR REPLACE TEMP TABLE __clean AS
                    SELECT f.* EXCLUDE ({", ".join(helper_columns)}){attributes}, {verdict} AS __verdict
                    FROM (SELECT v.*, {", ".join(checks) if checks else "NULL AS __none"}
                          FROM (SELECT l1.*, {", ".join(values)}
                                FROM (SELECT l0.* REPLACE ({", ".join(nulled)})
                                      FROM (SELECT r AS __row{watermark}, {", ".join(present)}
                                            FROM (SELECT * FROM {spec.sql}) r) l0) l1) v) f"""
                )
        except duckdb.Error as exc:
            raise _unreadable(source, spec, exc) from None
        if not checks:
            con.execute("ALTER TABLE __clean DROP COLUMN __none")
        rejects = self._rejects(spec)
        if rejects:
            self._check_encoding(source, spec)
        # Orders without line numbers get them from the file's order within each order.
        derived = table.name == "orders" and "line_no" not in columns
        self._number_rows(rejects, derived)
        dedup_key = [k for k in table.key if k != "source"]
        if derived or not set(dedup_key) <= set(columns):
            dedup_key = list(columns)  # no natural key in this input: only exact duplicates are dropped
        with _timed(steps, "duplicates"):
            self._mark_duplicates(dedup_key, list(columns), mapping.columns)
        return Staged(columns, derived, rejects, mapping.columns)

    def _number_rows(self, rejects: bool, derived_line_no: bool) -> None:
        """Make the ``__staged`` view: ``__clean`` with each row's number in the input (``__rn``).

        ``__clean`` keeps the input's order, so a row's number is its position, shifted past the
        lines the CSV reader rejected before it. A few rejected lines shift it by an inline sum; many,
        or order line numbers to derive, store the numbers in a copy of the rows (rare paths).
        """
        con = self.engine.con
        first_rowid = con.execute("SELECT coalesce(min(rowid), 0) FROM __clean").fetchone()[0]
        offset = f"(c.rowid - {first_rowid})"
        # Reject j (in line order, from 0) sits after d_j = line_j - 2 - j good rows; good row i
        # comes after #{j: d_j <= i} rejected lines.
        lines = (
            [r[0] for r in con.execute("SELECT DISTINCT line FROM __rejects ORDER BY 1").fetchall()]
            if rejects
            else []
        )
        if len(lines) <= INLINE_REJECTS and not derived_line_no:
            shifts = "".join(f" + ({offset} >= {line - 2 - j})::BIGINT" for j, line in enumerate(lines))
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW __staged AS SELECT *, rowid AS __rid, {offset} + 1{shifts} AS __rn "
                "FROM __clean c"
            )
            return
        line_no = (
            ", row_number() OVER (PARTITION BY order_id ORDER BY __rn)::INTEGER AS line_no"
            if derived_line_no
            else ""
        )
        shift, join = "", ""
        if rejects:
            shift = " + coalesce(rj.k, 0)"
            join = (
                "ASOF LEFT JOIN (SELECT line - 2 - (row_number() OVER (ORDER BY line) - 1) AS d, "
                "row_number() OVER (ORDER BY line) AS k FROM (SELECT DISTINCT line FROM __rejects)) rj "
                f"ON {offset} >= rj.d"
            )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __numbered AS SELECT *{line_no}
            FROM (SELECT c.*, {offset} + 1{shift} AS __rn FROM __clean c {join})"""
        )
        con.execute("DROP TABLE __clean")
        con.execute("ALTER TABLE __numbered RENAME TO __clean")
        con.execute("CREATE OR REPLACE TEMP VIEW __staged AS SELECT *, rowid AS __rid FROM __clean")

    def _publish(
        self, source: SourceConfig, spec: files.ReadSpec, table: Table, result: LoadResult, staged: Staged
    ) -> None:
        """Write the staged rows to the warehouse (inside the load's transaction)."""
        con = self.engine.con
        columns, derived, rejects = list(staged.columns), staged.derived_line_no, staged.rejects
        if self.pseudonym_key is not None:  # identifiers become keyed tokens before anything is written
            from crmlens.privacy import protect_staged

            protect_staged(self.engine, "__clean", table.name, self.pseudonym_key, vault_key=self.vault_key)
        if derived:
            columns.append("line_no")
        self._write(source, spec, table, columns, result, rejects)
        if self.pseudonym_key is not None:  # rejected rows keep source headers: protect those too
            from crmlens.privacy.pseudonymise import IDENTIFIER_COLUMNS, protect_quarantine

            headers = [
                staged.headers[c] for c in IDENTIFIER_COLUMNS.get(table.name, ()) if c in staged.headers
            ]
            protect_quarantine(
                self.engine,
                result.load_id,
                headers,
                self.pseudonym_key,
                vault_key=self.vault_key,
                entity=table.name,
            )
        if source.incremental and sql.WATERMARK_COLUMN in self.engine.columns("__clean"):
            mark = con.execute(
                f"SELECT max({sql.WATERMARK_COLUMN})::VARCHAR FROM __clean WHERE __verdict IS NULL"
            ).fetchone()
            result.watermark = mark[0] if mark and mark[0] is not None else self._last_watermark(source)

    def _rejects(self, spec: files.ReadSpec) -> bool:
        """Keep the CSV reader's rejected lines of this scan; True when there are any."""
        if not spec.csv_rejects:
            return False
        self.engine.con.execute(
            """CREATE OR REPLACE TEMP TABLE __rejects AS
            SELECT line, column_name, error_type::VARCHAR AS error_type, error_message, csv_line
            FROM __reject_errors"""
        )
        return self.engine.count("__rejects") > 0

    def _check_encoding(self, source: SourceConfig, spec: files.ReadSpec) -> None:
        """Mostly undecodable lines mean the wrong encoding, not bad rows: stop and say so."""
        bad, total = self.engine.con.execute(
            "SELECT count(DISTINCT line) FILTER (WHERE error_type = 'INVALID ENCODING'), "
            "(SELECT count(*) FROM __clean) + count(DISTINCT line) FROM __rejects"
        ).fetchone()
        if bad and bad * 2 >= total:
            raise SourceError(
                source.name,
                f"{spec.label}: not valid {spec.encoding} text ({bad} of {total} lines); set 'encoding' "
                "(e.g. gb18030, big5, latin-1) or 'auto'",
            )

    @staticmethod
    def _attributes(unmapped: list[str], softs: list[str]) -> str:
        """JSON of unmapped columns and of malformed soft values (e-mail, phone); empty when none."""
        pairs = [f"{lit(h)}, struct_extract(f.__row, {lit(h)})" for h in unmapped]
        pairs += [
            f"{lit('_invalid_' + name)}, CASE WHEN f.{q('__f_' + name)} IS NOT NULL THEN f.{q('__p_' + name)} END"
            for name in softs
        ]
        return f"json_object({', '.join(pairs)})" if pairs else ""

    def _staged_attributes(self, alias: str = "") -> str:
        """The staged rows' ``attributes``, or NULL where staging left the always-empty column out."""
        if "attributes" in self.engine.columns("__clean"):
            return f"{alias}.attributes" if alias else "attributes"
        return "NULL::JSON"

    def _mark_duplicates(self, key: list[str], columns: list[str], headers: dict[str, str]) -> None:
        """Within one input, the last row of a key wins; earlier ones go to quarantine, saying why.

        Duplicated keys are found by grouping the keys' hashes first (a fifth cheaper than grouping
        the keys at 10M rows): most inputs have none, and then the costly window is skipped. A hash
        collision only sends two different keys to the window, which partitions by the keys.

        A duplicate passed every rule and staging keeps no raw text of passing rows, so the row it
        leaves in quarantine is its cleaned values under the source headers, with its unmapped
        columns, marked as such (``_values``).
        """
        con = self.engine.con
        keys = ", ".join(q(k) for k in key)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE __dups AS SELECT hash({keys}) AS h FROM __clean "
            f"WHERE __verdict IS NULL GROUP BY ALL HAVING count(*) > 1"
        )
        if self.engine.count("__dups") == 0:
            return
        cols = ", ".join(f"v.{q(c)}" for c in columns)
        partition = ", ".join(f"v.{q(k)}" for k in key)
        as_written = ", ".join(f"{lit(headers[c])}: v.{q(c)}" for c in columns)
        con.execute(
            f"""UPDATE __clean SET __verdict = json_object('reason', d.why, 'column', {lit(key[0])}, 'raw', d.raw)
            FROM (
                SELECT __rid, raw, CASE WHEN h = last_h THEN 'exact duplicate of row ' || last_rn
                    ELSE 'same key ({", ".join(key)}) as row ' || last_rn || ', which replaces it' END AS why
                FROM (SELECT v.__rid, v.__rn, hash({cols}) AS h,
                        json_merge_patch(to_json({{{as_written}}}), coalesce({self._staged_attributes("v")}, '{{}}'),
                            {lit(json.dumps({"_values": CLEANED_NOTE}))}) AS raw,
                        first_value(hash({cols})) OVER w AS last_h, first_value(v.__rn) OVER w AS last_rn
                      FROM __staged v JOIN __dups d ON hash({partition}) = d.h WHERE v.__verdict IS NULL
                      WINDOW w AS (PARTITION BY {partition} ORDER BY v.__rn DESC))
                WHERE __rn <> last_rn) d
            WHERE __clean.rowid = d.__rid"""
        )

    def _write(
        self,
        source: SourceConfig,
        spec: files.ReadSpec,
        table: Table,
        columns: list[str],
        result: LoadResult,
        rejects: bool,
    ) -> None:
        con = self.engine.con
        key = [k for k in table.key if k == "source" or k in columns]
        target = q(table.name)
        with _timed(result.steps, "write"):
            self._upsert(source, target, key, columns)
        with _timed(result.steps, "quarantine"):
            self._quarantine(source, spec, table, result.load_id, rejects)
        counts = con.execute(
            "SELECT count(*) FILTER (WHERE __verdict IS NULL), count(*) FILTER (WHERE __verdict IS NOT NULL) FROM __clean"
        ).fetchone()
        n_rejected = con.execute("SELECT count(DISTINCT line) FROM __rejects").fetchone()[0] if rejects else 0
        result.rows_loaded = int(counts[0])
        result.rows_quarantined = int(counts[1]) + int(n_rejected)
        result.rows_in = self.engine.count("__clean") + int(n_rejected)
        if (
            result.rows_in != result.rows_loaded + result.rows_quarantined
        ):  # the invariant, checked before commit
            raise ValidationError(f"{spec.label}: rows do not reconcile: {result}")

    def _upsert(self, source: SourceConfig, target: str, key: list[str], columns: list[str]) -> None:
        """Good rows replace the rows of the same source with the same natural key, then are inserted."""
        con = self.engine.con
        if (
            key
            and con.execute(f"SELECT count(*) FROM {target} WHERE source = ?", [source.name]).fetchone()[0]
        ):
            match = " AND ".join(
                f"t.{q(k)} = {lit(source.name)}"
                if k == "source"
                else f"t.{q(k)} IS NOT DISTINCT FROM g.{q(k)}"
                for k in key
            )
            con.execute(
                f"DELETE FROM {target} t USING (SELECT * FROM __staged WHERE __verdict IS NULL) g WHERE {match}"
            )
        names = ", ".join(q(c) for c in columns)
        # Rows carry their file row number, so the table need not keep their order: writing in parallel.
        con.execute("SET preserve_insertion_order = false")
        try:
            con.execute(
                f"INSERT INTO {target} ({names}, source, row_number, attributes, loaded_at) "
                f"SELECT {names}, {lit(source.name)}, __rn, {self._staged_attributes()}, timezone('UTC', now()) "
                "FROM __staged WHERE __verdict IS NULL"
            )
        finally:
            con.execute("RESET preserve_insertion_order")

    def _quarantine(
        self, source: SourceConfig, spec: files.ReadSpec, table: Table, load_id: str, rejects: bool
    ) -> None:
        """Failing rows and the reader's malformed lines, each with its reason and raw row."""
        con = self.engine.con
        meta = f"{lit(source.name)}, {lit(table.name)}, {lit(spec.label)}"
        con.execute(
            f"""INSERT INTO quarantine SELECT {meta}, __rn, __verdict->>'column', __verdict->>'reason',
                __verdict->'raw', {lit(load_id)},
                timezone('UTC', now()) FROM __staged WHERE __verdict IS NOT NULL"""
        )
        if rejects:
            con.execute(
                f"""INSERT INTO quarantine SELECT {meta}, line - 1, any_value(column_name),
                    'malformed line: ' || min(error_message), to_json({{'line': any_value(csv_line)}}),
                    {lit(load_id)}, timezone('UTC', now()) FROM __rejects GROUP BY line"""
            )

    def _log(self, result: LoadResult, fingerprint: str, message: str | None) -> None:
        self.engine.execute(
            "INSERT INTO ingest_log VALUES ($id, $source, $entity, $file, $hash, $rin, $rl, $rq, 0, $wm, $status, "
            "$msg, $started, $finished)",
            {
                "id": result.load_id,
                "source": result.source,
                "entity": result.entity,
                "file": result.file,
                "hash": fingerprint,
                "rin": result.rows_in,
                "rl": result.rows_loaded,
                "rq": result.rows_quarantined,
                "wm": result.watermark,
                "status": result.status,
                "msg": message,
                "started": self._started,
                "finished": datetime.now(UTC).replace(tzinfo=None),  # now() in SQL is the transaction's start
            },
        )
