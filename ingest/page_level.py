"""The page's own level of dense support: how close a chunk's nearest other chunk is, typically.

A question about the page reaches cosines that depend on the page: the chunks of a tight page lie close
together and close to its questions, those of a loose one further apart. The default scope rule reads a
question's dense support relative to this level (docs/scope.md, "Leaving one page out over five pages").
It is computed once at ingest from the chunk vectors and kept in the manifest (`SCOPE_KEY`), so opening
an index costs nothing. Each of at most `SAMPLE` chunks (evenly spaced, so the same index gives the same
number) is compared with every chunk, in batches: O(SAMPLE x chunks), about 8 s on one core at 100,000
chunks (3% of such an ingest); without the sample it would be O(chunks²).
"""

from __future__ import annotations

SCOPE_KEY = "scope"  # manifest key: {"nearest_chunk_median": float, "sampled": int}
SAMPLE = 2000
_BATCH = 4096


def nearest_chunk_median(vectors, sample: int = SAMPLE) -> float | None:
    """Median over (a sample of) the chunks of the cosine to their nearest other chunk; None below two chunks.

    `vectors` are unit vectors, one row per chunk.
    """
    import numpy as np

    v = np.asarray(vectors, dtype=np.float32)
    n = len(v)
    if n < 2:
        return None
    rows = np.unique(np.linspace(0, n - 1, min(n, sample)).round().astype(int))
    best = np.full(len(rows), -2.0, dtype=np.float32)
    probe = v[rows]
    for start in range(0, n, _BATCH):
        sims = probe @ v[start:start + _BATCH].T
        own = (rows >= start) & (rows < start + _BATCH)  # a chunk is not its own neighbour
        sims[np.flatnonzero(own), rows[own] - start] = -2.0
        best = np.maximum(best, sims.max(axis=1))
    return float(np.median(best))


def page_record(vectors) -> dict | None:
    """The manifest's `SCOPE_KEY` entry for these chunk vectors (None when there are too few chunks)."""
    level = nearest_chunk_median(vectors)
    return None if level is None else {"nearest_chunk_median": round(level, 6), "sampled": min(len(vectors), SAMPLE)}


def page_level(manifest: dict) -> float | None:
    """The level an index's manifest holds; None for an index built before it was kept (or damaged)."""
    entry = manifest.get(SCOPE_KEY)
    try:
        return float(entry["nearest_chunk_median"])
    except (TypeError, KeyError, ValueError):
        return None
