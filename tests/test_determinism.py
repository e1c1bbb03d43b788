"""The same question on the same page gives the same hits, scores and scope decision whatever Python's string
hash seed (PYTHONHASHSEED) is: nothing may depend on the order a set is iterated in.

Each run ingests the pages and searches them in a fresh process under its own seed, since an order taken from a
set at ingest is saved with the index. The questions are development questions that flipped between two states
with the seed (the soft word match stood a question word the page never uses, "watermark" or "contaminent", for
whichever page word of the same stem a set met first). The runs share a fresh word-vector cache: the first encodes
"calculus" and "textbook" (everyday words beyond the cached head, on no page) on first use and keeps them at exit
(ingest/learned_words.py); the second reads them from the table, so a flush cannot change a result either. Scores
are compared exactly: rounded to 4 decimals they hid a learned word used as float32 but kept as float16.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT

QUESTIONS = {
    "evals/pages/fourth-page.txt": [
        "Does rewording a text with another model remove the watermark?",  # fo02
        "Would OpenAI be able to detect text written by ChatGPT with a secret-key watermark?",  # fo10
        "Is a short paragraph enough to check for a watermark?",  # fo14
        "How do banks watermark their banknotes against counterfeiting?",  # fo17 (out of scope)
        "Can a watermark hide in a calculus textbook?",  # words the first run learns, the second reads back
    ],
    "evals/pages/eighth-page.txt": ["what is a contaminent plume and how do you map it"],  # d8-0025
}
# Seeds under which the questions above took different states before the fix (all five differed).
SEEDS = ("0", "2")

_RUN = textwrap.dedent("""
    import json, sys, tempfile
    from pathlib import Path
    from consensus_chat import Config, open_retriever
    from consensus_chat.ingest.pipeline import ingest

    out = {}
    for corpus, questions in json.loads(sys.argv[1]).items():
        with tempfile.TemporaryDirectory() as d:
            config = Config.from_env(index_dir=d)
            ingest([Path(corpus)], config)
            retriever = open_retriever(config=config)
            for q in questions:
                result = retriever.search(q, k=3)
                out[q] = [result.in_scope, result.scope_score, [[h.id, h.score] for h in result.hits]]
    print(json.dumps(out))
""")


def _search_under(seed: str, cache: Path) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": seed, "CONSENSUS_CHAT_CACHE": str(cache)}
    done = subprocess.run([sys.executable, "-c", _RUN, json.dumps(QUESTIONS)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def _cached_words(cache: Path) -> list[str]:
    (listed,) = (cache / "word-vectors").glob("*.head.txt")
    return listed.read_text(encoding="utf-8").split()


def test_hits_and_scope_do_not_depend_on_the_hash_seed_or_on_learned_words(tmp_path):
    first = _search_under(SEEDS[0], tmp_path)
    assert {"calculus", "textbook"} <= set(_cached_words(tmp_path))  # learned by the first run, read by the second
    second = _search_under(SEEDS[1], tmp_path)
    assert len(first) == sum(len(qs) for qs in QUESTIONS.values())
    assert all(hits for _, _, hits in first.values())  # every question ranked something to compare
    differ = [q for q in first if first[q] != second[q]]
    assert not differ, f"these differ between PYTHONHASHSEED {SEEDS}: {differ}"
