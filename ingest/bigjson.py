"""Read the index's large JSON files (the manifest, the saved search tables) fast, with the same values as `json`.

At 100,000 sections the saved tables are 83 MB and the manifest 14 MB, and parsing them is most of opening
the index. orjson (already installed with chromadb) parses them in a little over half the time `json` takes,
into the same Python values. It is stricter, so whatever it refuses is parsed again by `json`, which then
accepts it (NaN) or raises the error it always raised: damaged files are reported as before. Small files
stay with `json`: importing orjson would cost a cold command more than it saves there.
"""

from __future__ import annotations

import gc
import json
from contextlib import contextmanager

BIG = 1 << 20  # bytes from which orjson is used


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while millions of acyclic objects are made (JSON tables, sections).

    Each allocation burst otherwise triggers full collections that scan everything made so far: at
    100,000 sections that doubles the time to read the tables. Nothing made here forms cycles.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def loads(raw: bytes | str):
    """The JSON value of `raw` (str, or UTF-8 bytes) as `json.loads` gives it, and its errors too."""
    if len(raw) >= BIG:
        import orjson

        with gc_paused():
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass  # json says what is wrong, or accepts what orjson will not (NaN, huge integers)
    return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
