"""Why a record belongs to its customer, and why a near match was not joined."""

from __future__ import annotations

import json
from typing import Any

from crmlens.engine.base import Engine
from crmlens.exceptions import ValidationError
from crmlens.identity.warehouse import PAIRS, parse_key

__all__ = ["explain_record"]


def _find(engine: Engine, key: str, pseudonym_key: bytes | str | None = None) -> tuple[str, str, int]:
    source, k = parse_key(key)
    if pseudonym_key is not None and not k.startswith("pz_"):  # the warehouse holds the key's token
        from crmlens.privacy.pseudonymise import Tokenizer

        k = Tokenizer(pseudonym_key).token(k)
    where = "customer_key = $k" + (" AND source = $s" if source is not None else "")
    params: dict[str, Any] = {"k": k} | ({"s": source} if source is not None else {})
    rows = engine.query(
        f"SELECT source, customer_key, customer_id FROM customer_links WHERE {where} ORDER BY source", params
    ).to_pandas()
    if rows.empty:
        raise ValidationError(
            f"identity explain: no resolved record {key!r}; give source:customer_key as in customer_links "
            "(run identity resolution first)"
        )
    if len(rows) > 1:
        raise ValidationError(
            f"identity explain: key {key!r} exists in several sources ({', '.join(rows['source'])}); "
            "write it as source:customer_key"
        )
    return str(rows.iloc[0]["source"]), str(rows.iloc[0]["customer_key"]), int(rows.iloc[0]["customer_id"])


def explain_record(
    engine: Engine,
    key: str,
    other: str | None = None,
    limit: int = 10,
    pseudonym_key: bytes | str | None = None,
) -> dict[str, Any]:
    """The record's customer, its cluster, and the scored pairs that touch it (strongest first).

    With ``other``, only the pair of the two records: joined or not, the rule or the comparisons
    (level reached and match weight of each) that decided. In a pseudonymised warehouse, a clear
    key is tokenised with ``pseudonym_key`` before the lookup.
    """
    if not engine.has_table("customer_links"):
        raise ValidationError(
            "identity explain: the warehouse has no customer_links; run identity resolution first"
        )
    source, k, customer_id = _find(engine, key, pseudonym_key)
    cluster = engine.query(
        "SELECT source, customer_key, match_probability, match_rule FROM customer_links "
        "WHERE customer_id = $c ORDER BY source, customer_key",
        {"c": customer_id},
    ).to_pandas()
    out: dict[str, Any] = {
        "record": f"{source}:{k}",
        "customer_id": customer_id,
        "cluster": cluster.to_dict("records"),
    }
    if not engine.has_table(PAIRS):
        out["pairs"] = []
        return out
    params: dict[str, Any] = {"s": source, "k": k}
    cond = "(source_l = $s AND key_l = $k) OR (source_r = $s AND key_r = $k)"
    if other is not None:
        o_source, o_key, o_id = _find(engine, other, pseudonym_key)
        params |= {"os": o_source, "ok": o_key}
        cond = (
            "((source_l = $s AND key_l = $k AND source_r = $os AND key_r = $ok) OR "
            "(source_r = $s AND key_r = $k AND source_l = $os AND key_l = $ok))"
        )
        out["other"] = f"{o_source}:{o_key}"
        out["joined"] = o_id == customer_id
    pairs = engine.query(
        f"SELECT * FROM {PAIRS} WHERE {cond} ORDER BY match_probability DESC, rule LIMIT {int(limit)}", params
    ).to_pandas()
    threshold_hint = []
    ids = engine.query("SELECT source, customer_key, customer_id FROM customer_links").to_pandas()
    lookup = {(s, kk): c for s, kk, c in ids.itertuples(index=False)}
    for row in pairs.itertuples(index=False):
        mine_left = row.source_l == source and row.key_l == k
        other_src, other_key = (row.source_r, row.key_r) if mine_left else (row.source_l, row.key_l)
        threshold_hint.append(
            {
                "with": f"{other_src}:{other_key}",
                "rule": row.rule,
                "match_probability": round(float(row.match_probability), 6),
                "same_customer": lookup.get((other_src, other_key)) == customer_id,
                "comparisons": json.loads(row.reasons or "[]"),
            }
        )
    out["pairs"] = threshold_hint
    if other is not None and not threshold_hint:
        out["why"] = "never compared: the two records share no blocking key and no e-mail, phone or id"
    return out
