"""A search's input checks and filters: k, the mode, and the code, label and kind filters (as allowed section
ids for the in-memory path, and as the same filter in Chroma's metadata clause for the HNSW path)."""

from __future__ import annotations

import re

from consensus_chat.ingest.errors import QueryError
from consensus_chat.ingest.lookups import normalise
from consensus_chat.ingest.section import KINDS

MODES = ("hybrid", "dense", "lexical")
_CODE_FILTER = re.compile(r"^\d+(?:\.\d+){0,3}\.?$")


def check_k(k) -> int:
    """k as a whole number from 1 to 50 (a float such as 5.0 is accepted); QueryError otherwise."""
    if isinstance(k, bool) or not isinstance(k, int):
        if isinstance(k, float) and k.is_integer():
            k = int(k)
        else:
            raise QueryError(f"k must be a whole number from 1 to 50, not {k!r}.")
    if not 1 <= k <= 50:
        raise QueryError(f"k must be from 1 to 50, not {k}.")
    return k


def check_mode(mode: str) -> str:
    """The search mode, if it is one of MODES; QueryError otherwise."""
    if mode not in MODES:
        raise QueryError(f"mode must be one of {', '.join(MODES)}, not {mode!r}.")
    return mode


def allowed(generation, codes, labels, kinds) -> set[str] | None:
    """The ids of the sections the filters let through, or None without filters; QueryError for a bad filter."""
    if not (codes or labels or kinds):
        return None
    codes = _as_list(codes, "codes")
    labels = _as_list(labels, "labels")
    kinds = _as_list(kinds, "kinds")
    lookups = generation.lookups
    ids = set(generation.sections)
    if codes:
        matched: set[str] = set()
        for prefix in codes:
            if not _CODE_FILTER.match(prefix.strip()):
                raise QueryError(f"Code filter {prefix!r} is not a dotted section code such as 2.2 or 3.2.1.")
            found = lookups.code_matches(prefix)
            if not found:
                known = ", ".join(sorted(lookups.codes))
                raise QueryError(f"No section has a code starting with {prefix.strip()!r}. Known codes: {known}.")
            matched.update(found)
        ids &= matched
    if labels:
        wanted = {normalise(label) for label in labels}
        unknown = [label for label in labels if normalise(label) not in lookups.labels]
        if unknown:
            known = ", ".join(sorted(lookups.label_names.values()))
            raise QueryError(f"Unknown label {unknown[0]!r}. Known labels: {known}.")
        ids &= {i for lab in wanted for i in lookups.labels[lab]}
    if kinds:
        bad = [kd for kd in kinds if kd not in KINDS]
        if bad:
            raise QueryError(f"Unknown kind {bad[0]!r}; use one of {', '.join(KINDS)}.")
        ids &= {i for i, s in generation.sections.items() if s.kind in kinds}
    return ids


def where(generation, codes, labels, kinds) -> dict | None:
    """The Chroma metadata clause for the code, label and kind filters (the HNSW path of dense search)."""
    clauses = []
    if codes:
        levels = []
        for prefix in codes:
            prefix = prefix.strip().rstrip(".")
            levels.append({f"code_{prefix.count('.') + 1}": prefix})
        clauses.append(levels[0] if len(levels) == 1 else {"$or": levels})
    if labels:
        names = [generation.lookups.label_names[normalise(label)] for label in labels]
        clauses.append({"label": {"$in": names}})
    if kinds:
        clauses.append({"kind": {"$in": list(kinds)}})
    return None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _as_list(value, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple, set)) or not all(isinstance(v, str) for v in value):
        raise QueryError(f"{name} must be a list of strings.")
    return [v for v in value if v.strip()]
