"""The matcher: deterministic rules first, then Splink (Fellegi-Sunter, EM-trained m, sampled u).

Everything is derived from column roles (see :mod:`crmlens.identity.roles`): the normalised keys,
the comparisons, the blocking rules (chosen by counting the pairs each would create, so a rule that
would explode on a big table is never used) and the two EM sessions. Clusters are formed greedily
from the strongest link down, so a never-link pair is never joined, not even through a third record.
"""

from __future__ import annotations

import copy
import logging
import math
import re
import time
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from crmlens.exceptions import ConfigError, ValidationError
from crmlens.identity.normalise import (
    name_key,
    name_parts,
    normalise_date,
    normalise_email,
    normalise_phone,
    normalise_text,
)
from crmlens.identity.roles import ROLES

__all__ = ["RecordLinker", "DETERMINISTIC_ROLES"]

DETERMINISTIC_ROLES = {"email": "same_email", "phone": "same_phone", "id": "same_id"}
_NAME_ROLES = ("name", "given_name", "surname")


def _col(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_") or "col"
    if base[0].isdigit():
        base = "c_" + base
    out, i = base, 1
    while out in taken or out in ("unique_id", "source_dataset", "match_probability"):
        i += 1
        out = f"{base}_{i}"
    taken.add(out)
    return out


class _UnionFind:
    """Union-find whose sets remember which records they must never join."""

    def __init__(self, n: int, never: dict[int, set[int]]) -> None:
        self.parent = np.arange(n)
        self.members: dict[int, set[int]] = {}
        self.never = never
        self.blocked: dict[int, set[int]] = {i: set(v) for i, v in never.items()}

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return int(root)

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        ma = self.members.get(ra, {ra})
        mb = self.members.get(rb, {rb})
        ba, bb = self.blocked.get(ra, set()), self.blocked.get(rb, set())
        if (ba and ba & mb) or (bb and bb & ma):
            return False
        if len(ma) < len(mb):
            ra, rb, ma, mb, ba, bb = rb, ra, mb, ma, bb, ba
        self.parent[rb] = ra
        ma |= mb
        self.members[ra] = ma
        self.members.pop(rb, None)
        if ba or bb:
            self.blocked[ra] = ba | bb
            self.blocked.pop(rb, None)
        return True


class RecordLinker(BaseEstimator):
    """Resolve records to entities: one cluster per real person.

    Parameters
    ----------
    roles : dict
        ``{column: role}``, roles from :data:`crmlens.identity.roles.ROLES`.
    threshold : float
        Splink match probability at or above which two records are joined.
    link_type : str
        ``dedupe_only`` (one table), ``link_only`` (pairs across sources only) or
        ``link_and_dedupe``; the source is the ``source_col`` column of the frame.
    deterministic : bool
        Join records sharing a normalised e-mail, phone or id before any scoring.
    max_group : int
        A deterministic value shared by more records than this is treated as a placeholder, not an identity.
    pair_budget : int or None
        Largest number of pairs one blocking rule may create (default ``max(200_000, 40 * rows)``).
    region : str
        Default phone region for numbers written without a country code.
    model : dict or None
        A trained Splink model (``model_`` of an earlier fit) to score with instead of training; used
        when its comparisons are those of ``roles``, so an incremental load scores like the last one.
    seed : int
        Seed of Splink's random sampling for u.
    spark : SparkEngine, SparkSession or None
        Run Splink's training and scoring on this Spark session (its Spark backend) instead of
        DuckDB; blocking choice and deterministic rules stay local (they only count keys).
    """

    def __init__(
        self,
        roles: dict[str, str] | None = None,
        *,
        threshold: float = 0.9,
        link_type: str = "dedupe_only",
        source_col: str | None = None,
        deterministic: bool = True,
        max_group: int = 5,
        pair_budget: int | None = None,
        region: str = "CN",
        keep_pairs_above: float = 0.01,
        model: dict[str, Any] | None = None,
        seed: int = 0,
        spark: Any = None,
    ) -> None:
        self.roles = roles
        self.threshold = threshold
        self.link_type = link_type
        self.source_col = source_col
        self.deterministic = deterministic
        self.max_group = max_group
        self.pair_budget = pair_budget
        self.region = region
        self.keep_pairs_above = keep_pairs_above
        self.model = model
        self.seed = seed
        self.spark = spark

    # ------------------------------------------------------------------ preparation
    def _prepare(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, str, str]]]:
        """The frame Splink sees: unique_id, source_dataset and one normalised column per use."""
        out = pd.DataFrame({"unique_id": np.arange(len(frame), dtype=np.int64)})
        if self.source_col is not None:
            out["source_dataset"] = frame[self.source_col].astype(str).to_numpy()
        taken: set[str] = set()
        spec: list[tuple[str, str, str]] = []  # (derived column, role, original column)
        for column, role in (self.roles or {}).items():
            if role == "ignore" or role not in ROLES:
                continue
            values = frame[column]
            name = _col(column, taken)
            if role == "name":
                raw = values.astype(object).where(values.notna(), None)
                out[name] = [name_key(v) for v in raw]
                sur = _col(column + "_surname", taken)
                out[sur] = [name_parts(str(v))[0] or None if v is not None else None for v in raw]
                spec.append((name, role, column))
                spec.append((sur, "surname_part", column))
                continue
            if role == "birth_date":
                out[name] = normalise_date(values).to_numpy()
            elif role == "email":
                out[name] = [normalise_email(v) for v in values.astype(object)]
            elif role == "phone":
                out[name] = [normalise_phone(v, self.region) for v in values.astype(object)]
            elif role in ("id", "postcode", "number"):
                text = values.astype("string").str.strip().str.lower().str.replace(r"[\s\-]", "", regex=True)
                out[name] = text.astype(object).where(text.notna() & (text != ""), None).to_numpy()
            else:
                out[name] = [normalise_text(v) for v in values.astype(object)]
            spec.append((name, role, column))
        spec = [item for item in spec if out[item[0]].notna().any()]  # an empty column carries no evidence
        out = out[
            [
                "unique_id",
                *(["source_dataset"] if self.source_col is not None else []),
                *(c for c, _, _ in spec),
            ]
        ]
        if not spec:
            raise ValidationError("identity: no column to match on; name a role for at least one column")
        return out, spec

    # ------------------------------------------------------------------ deterministic rules
    def _deterministic_edges(
        self, con: duckdb.DuckDBPyConnection, spec: list[tuple[str, str, str]]
    ) -> pd.DataFrame:
        parts = []
        for name, role, _ in spec:
            if role not in DETERMINISTIC_ROLES:
                continue
            cross = "AND l.source_dataset <> r.source_dataset" if self.link_type == "link_only" else ""
            parts.append(
                f"""SELECT l.unique_id AS uid_l, r.unique_id AS uid_r, '{DETERMINISTIC_ROLES[role]}' AS rule
                FROM (SELECT * FROM __prep WHERE "{name}" IN (SELECT "{name}" FROM __prep
                      WHERE "{name}" IS NOT NULL GROUP BY 1 HAVING count(*) BETWEEN 2 AND {int(self.max_group)})) l
                JOIN __prep r ON l."{name}" = r."{name}" AND l.unique_id < r.unique_id {cross}"""
            )
        if not parts:
            return pd.DataFrame({"uid_l": [], "uid_r": [], "rule": []})
        return con.sql(" UNION ALL ".join(parts)).df()

    # ------------------------------------------------------------------ Splink settings
    def _comparisons(self, spec: list[tuple[str, str, str]]) -> list[Any]:
        import splink.comparison_library as cl

        comps = []
        for name, role, _ in spec:
            if role in _NAME_ROLES:
                comps.append(
                    cl.JaroWinklerAtThresholds(name, [0.92, 0.8]).configure(term_frequency_adjustments=True)
                )
            elif role == "surname_part":
                continue
            elif role == "birth_date":
                iso = (
                    "yyyy-MM-dd" if self.spark is not None else "%Y-%m-%d"
                )  # each backend's own pattern language
                comps.append(cl.DateOfBirthComparison(name, input_is_string=True, datetime_format=iso))
            elif role == "email":
                comps.append(cl.EmailComparison(name))
            elif role in ("phone", "postcode"):
                comps.append(cl.LevenshteinAtThresholds(name, [1]).configure(term_frequency_adjustments=True))
            elif role == "id":
                comps.append(cl.LevenshteinAtThresholds(name, [1, 2]))
            elif role == "city":
                comps.append(
                    cl.JaroWinklerAtThresholds(name, [0.9]).configure(term_frequency_adjustments=True)
                )
            elif role in ("number", "category"):
                comps.append(cl.ExactMatch(name))
            else:  # address, text
                comps.append(cl.JaroWinklerAtThresholds(name, [0.9, 0.75]))
        return comps

    def _pair_count(self, con: duckdb.DuckDBPyConnection, cols: tuple[str, ...]) -> int:
        keys = ", ".join(f'"{c}"' for c in cols)
        notnull = " AND ".join(f'"{c}" IS NOT NULL' for c in cols)
        if self.link_type == "link_only":
            sql = f"""SELECT coalesce(sum(c * c - s), 0) / 2 FROM (SELECT count(*) AS c,
                sum(n * n) AS s FROM (SELECT {keys}, source_dataset, count(*) AS n FROM __prep WHERE {notnull}
                GROUP BY ALL) GROUP BY {keys})"""
        else:
            sql = f"SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM __prep WHERE {notnull} GROUP BY {keys})"
        return int(con.sql(sql).fetchone()[0])

    def _blocking(
        self, con: duckdb.DuckDBPyConnection, spec: list[tuple[str, str, str]], n: int
    ) -> list[tuple[str, ...]]:
        """Single keys within the pair budget, then pairs of keys for those that exceed it."""
        budget = self.pair_budget or max(200_000, 40 * n)
        strong = [
            nm
            for nm, role, _ in spec
            if role
            in (
                "name",
                "given_name",
                "surname",
                "surname_part",
                "birth_date",
                "email",
                "phone",
                "id",
                "postcode",
                "address",
            )
        ]
        weak = [nm for nm, role, _ in spec if role in ("city", "number", "category")]
        chosen: list[tuple[str, ...]] = []
        over: list[str] = []
        for col in strong:
            (chosen if self._pair_count(con, (col,)) <= budget else over).append((col,) if col else col)
        over = [c[0] if isinstance(c, tuple) else c for c in over]
        for i, a in enumerate(over):
            for b in [*over[i + 1 :], *weak]:
                if self._pair_count(con, (a, b)) <= budget:
                    chosen.append((a, b))
        if not chosen:
            raise ValidationError(
                "identity: every blocking key would compare too many pairs; add a more specific column"
            )
        return chosen

    # ------------------------------------------------------------------ fit
    def fit_predict(
        self,
        frame: pd.DataFrame,
        must_link: list[tuple[int, int]] | None = None,
        never_link: list[tuple[int, int]] | None = None,
    ) -> pd.DataFrame:
        """Cluster the rows of ``frame``; returns, per row, ``cluster``, ``match_probability``, ``match_rule``.

        ``must_link`` / ``never_link`` are pairs of row positions.
        """
        import splink.blocking_rule_library as brl
        from splink import DuckDBAPI, Linker, SettingsCreator

        if self.link_type not in ("dedupe_only", "link_only", "link_and_dedupe"):
            raise ConfigError(
                f"identity: link_type {self.link_type!r} is not dedupe_only, link_only or link_and_dedupe"
            )
        if self.link_type != "dedupe_only" and self.source_col is None:
            raise ConfigError("identity: link_only and link_and_dedupe need source_col")
        start = time.perf_counter()
        prep, spec = self._prepare(frame)
        n = len(prep)
        self.spec_ = spec
        con = duckdb.connect(":memory:")
        try:
            con.register("__prep_df", prep)
            con.execute("CREATE TABLE __prep AS SELECT * FROM __prep_df")
            con.unregister("__prep_df")
            det = (
                self._deterministic_edges(con, spec)
                if self.deterministic
                else pd.DataFrame({"uid_l": [], "uid_r": [], "rule": []})
            )
            self.blocking_rules_ = self._blocking(con, spec, n) if n > 1 else []
            pairs = pd.DataFrame({"uid_l": [], "uid_r": [], "match_probability": []})
            self.comparison_labels_: dict[str, list[tuple[float, str]]] = {}
            if self.blocking_rules_:
                pairs = self._splink(con, prep, spec, brl, DuckDBAPI, Linker, SettingsCreator)
        finally:
            con.close()
        self.pairs_ = pairs
        self.deterministic_pairs_ = det
        result = self._cluster(n, det, pairs, must_link or [], never_link or [])
        self.seconds_ = time.perf_counter() - start
        return result

    def _splink(self, con, prep, spec, brl, DuckDBAPI, Linker, SettingsCreator) -> pd.DataFrame:  # noqa: N803
        logging.getLogger("splink").setLevel(logging.ERROR)
        rules = [brl.block_on(*cols) for cols in self.blocking_rules_]
        settings = SettingsCreator(
            link_type=self.link_type,
            comparisons=self._comparisons(spec),
            blocking_rules_to_generate_predictions=rules,
            retain_intermediate_calculation_columns=True,
            retain_matching_columns=False,
            em_convergence=0.001,
            max_iterations=15,
        )
        if self.spark is not None:
            from splink import SparkAPI

            # persist, not checkpoint: needs no checkpoint folder on the session
            db_api = SparkAPI(
                spark_session=getattr(self.spark, "spark", self.spark), break_lineage_method="persist"
            )
        else:
            db_api = DuckDBAPI(con)
        if self.link_type == "dedupe_only":
            inputs = [prep if self.spark is not None else "__prep"]
        else:
            inputs = []
            for i, source in enumerate(sorted(prep["source_dataset"].unique())):
                if self.spark is not None:
                    inputs.append(prep[prep["source_dataset"] == source].reset_index(drop=True))
                    continue
                con.execute(
                    f"CREATE TABLE __prep_{i} AS SELECT * FROM __prep WHERE source_dataset = ?", [source]
                )
                inputs.append(f"__prep_{i}")
        tables = [db_api.register(table, table_name=f"__input_{i}") for i, table in enumerate(inputs)]
        compared = {c for c, role, _ in spec if role != "surname_part"}
        model_cols = {c.get("output_column_name") for c in (self.model or {}).get("comparisons", [])}
        self.reused_model_ = bool(self.model) and model_cols == compared
        if self.reused_model_:
            settings = {**copy.deepcopy(self.model), "link_type": self.link_type}
        linker = Linker(tables if len(tables) > 1 else tables[0], settings, log_level=logging.ERROR)
        if not self.reused_model_:
            self._train(linker, spec, prep, brl)
        predictions = linker.inference.predict(threshold_match_probability=self.keep_pairs_above)
        frame = predictions.as_pandas_dataframe()
        self.model_ = linker.misc.save_model_to_json()
        try:
            for comparison in linker._settings_obj.comparisons:
                levels = []
                for level in comparison.comparison_levels:
                    if level.is_null_level:
                        continue
                    try:
                        weight = float(level._match_weight)
                    except (TypeError, ValueError, ZeroDivisionError):
                        continue
                    levels.append((weight, level.label_for_charts))
                self.comparison_labels_[comparison.output_column_name] = levels
        except AttributeError:
            pass
        if frame.empty:
            return pd.DataFrame({"uid_l": [], "uid_r": [], "match_probability": []})
        return frame.rename(columns={"unique_id_l": "uid_l", "unique_id_r": "uid_r"})

    def _train(self, linker: Any, spec: list[tuple[str, str, str]], prep: pd.DataFrame, brl: Any) -> None:
        """Prior from near-certain pairs, u from random pairs, m by EM on a name block and a date block."""
        names = [c for c, role, _ in spec if role in _NAME_ROLES]
        dob = [c for c, role, _ in spec if role == "birth_date"]
        others = [c for c, role, _ in spec if role in ("postcode", "id", "phone", "email", "address")]
        det_rule = (
            [brl.block_on(*names, *dob)]
            if names and dob
            else [brl.block_on(*names, *others[:1])]
            if names and others
            else []
        )
        if det_rule:
            try:
                linker.training.estimate_probability_two_random_records_match(det_rule, recall=0.7)
            except Exception:  # noqa: BLE001 - too few exact pairs in a tiny table: keep the prior
                pass
        settings = linker._settings_obj  # no public setter; a prior of 0 or 1 would break scoring
        prior = settings._probability_two_random_records_match
        if not 0.0 < prior < 1.0:
            n = max(len(prep), 2)
            settings._probability_two_random_records_match = min(0.5, 1.0 / n)
        # 20 random pairs a record (at most 200,000) keep FEBRL and the demo at their F1 for half the
        # time. One pass: Splink's early-stopping chunks cost a query per comparison and chunk, and
        # were 5-10% slower on FEBRL.
        linker.training.estimate_u_using_random_sampling(
            max_pairs=min(2e5, max(5e4, 20.0 * len(prep))),
            seed=self.seed,
            min_count_per_level=None,
            num_chunks=1,
        )
        sessions = []
        surname_parts = [c for c, role, _ in spec if role == "surname_part"]
        first = names[:1] if names else surname_parts[:1]
        if first:
            sessions.append(brl.block_on(*first) if len(names) < 2 else brl.block_on(*names[:2]))
        second = dob[:1] or others[:1]
        if second:
            sessions.append(brl.block_on(*second))
        for rule in sessions:
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(rule)
            except Exception:  # noqa: BLE001 - a session without pairs leaves the other one's estimates
                pass

    # ------------------------------------------------------------------ clustering
    def _cluster(self, n, det, pairs, must_link, never_link) -> pd.DataFrame:
        never: dict[int, set[int]] = {}
        for a, b in never_link:
            never.setdefault(int(a), set()).add(int(b))
            never.setdefault(int(b), set()).add(int(a))
        edges = [(1.0, 0, int(a), int(b), "must_link") for a, b in must_link]
        edges += [
            (1.0, 1, int(a), int(b), r) for a, b, r in det[["uid_l", "uid_r", "rule"]].itertuples(index=False)
        ]
        if not pairs.empty:
            ok = pairs[pairs["match_probability"] >= self.threshold]
            edges += [
                (float(p), 2, int(a), int(b), "splink")
                for a, b, p in ok[["uid_l", "uid_r", "match_probability"]].itertuples(index=False)
            ]
        edges.sort(key=lambda e: (-e[0], e[1], e[2], e[3]))
        uf = _UnionFind(n, never)
        best_p = np.full(n, np.nan)
        best_rule = np.array(["unique"] * n, dtype=object)
        for p, _, a, b, rule in edges:
            if uf.union(a, b):
                for x in (a, b):
                    if math.isnan(best_p[x]):
                        best_p[x], best_rule[x] = p, rule
        roots = np.array([uf.find(i) for i in range(n)])
        _, cluster = np.unique(roots, return_inverse=True)
        # number clusters by their first row, so ids follow the input order
        first = pd.Series(np.arange(n)).groupby(cluster).min().sort_values()
        renumber = np.empty(len(first), dtype=np.int64)
        renumber[first.index.to_numpy()] = np.arange(len(first))
        return pd.DataFrame(
            {"cluster": renumber[cluster], "match_probability": best_p, "match_rule": best_rule}
        )

    def reasons(self, row: pd.Series) -> list[dict[str, Any]]:
        """Per comparison of one scored pair: the level reached and its match weight (log2 Bayes factor)."""
        out = []
        for name, levels in getattr(self, "comparison_labels_", {}).items():
            weight = row.get(f"mw_{name}")
            if weight is None or (isinstance(weight, float) and math.isnan(weight)):
                continue
            weight = float(weight)
            if weight == 0.0 and not any(abs(w) < 1e-9 for w, _ in levels):
                label = "missing"
            else:
                label = min(levels, key=lambda lv: abs(lv[0] - weight))[1] if levels else ""
            tf = row.get(f"mw_tf_adj_{name}")
            if tf is not None and not (isinstance(tf, float) and math.isnan(tf)):
                weight += float(tf)
            out.append({"comparison": name, "level": label, "weight": round(weight, 2)})
        return out
