"""What a query needs of bm25s, read without importing the bm25s package: its English stopwords, its token
pattern, and a saved index's vocabulary and scores.

Importing bm25s runs its `__init__`, which imports scipy.sparse and tqdm (about 110 ms, a sixth of a cold
`consensus-chat ask`) only to build an index. A query needs none of that, so it reads bm25s' data module on its
own and the saved arrays with numpy. tests/test_bm25_read.py holds every value here equal to what bm25s itself
gives (the stopwords, the pattern, the vocabulary and every score), so the two cannot drift apart.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from pathlib import Path

# bm25s.tokenization.Tokenizer's default `splitter`, the one `bm25s.tokenize` splits chunks with. Written here
# because reading it from bm25s means importing the package; the test above checks it against bm25s.
TOKEN_PATTERN = r"(?u)\b\w\w+\b"

# The scorers whose saved index holds every score in its arrays (BM25L and BM25+ add a non-occurrence array).
_PLAIN_METHODS = frozenset({"robertson", "lucene", "atire"})


@functools.cache
def bm25s_stopwords():
    """bm25s' stopwords module (STOPWORDS_EN, STOPWORDS_EN_PLUS, ...), run on its own when bm25s is not imported:
    it is plain data, so it needs no package `__init__` (and Python's cached bytecode for it is used)."""
    loaded = sys.modules.get("bm25s.stopwords")
    if loaded is not None:
        return loaded
    package = importlib.util.find_spec("bm25s")  # a top-level name: found without running its __init__
    if package is None or package.origin is None:
        raise ModuleNotFoundError("No module named 'bm25s'", name="bm25s")
    spec = importlib.util.spec_from_file_location("bm25s.stopwords", Path(package.origin).with_name("stopwords.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class SavedBM25:
    """A saved bm25s index for querying: `vocab_dict` and `get_scores`, as `bm25s.BM25.load` gives them."""

    def __init__(self, vocab_dict: dict, data, indices, indptr, num_docs: int, dtype: str, int_dtype: str):
        self.vocab_dict = vocab_dict
        self._data, self._indices, self._indptr = data, indices, indptr
        self._num_docs, self._dtype, self._int_dtype = num_docs, dtype, int_dtype

    def get_scores(self, query_tokens: list[str]):
        """One score per document for a non-empty list of terms: bm25s.BM25.get_scores's steps, in its order
        (a term not in the vocabulary is skipped; each term's postings are added with np.add.at)."""
        import numpy as np

        if not isinstance(query_tokens, list) or not query_tokens or not isinstance(query_tokens[0], str):
            raise ValueError("The query_tokens must be a non-empty list of tokens.")
        ids = np.asarray([self.vocab_dict[t] for t in query_tokens if t in self.vocab_dict],
                         dtype=np.dtype(self._int_dtype))
        if int(ids.max(initial=0)) >= len(self._indptr) - 1:
            raise ValueError("The query holds a token id that is not in the index.")
        starts, ends = self._indptr[ids], self._indptr[ids + 1]
        scores = np.zeros(self._num_docs, dtype=np.dtype(self._dtype))
        for start, end in zip(starts, ends):
            np.add.at(scores, self._indices[start:end], self._data[start:end])
        return scores


def load_bm25(directory: Path):
    """The index `bm25s.BM25.save` wrote to `directory`, in memory; through bm25s itself for the scorers
    that need more than the saved scores."""
    params = json.loads((directory / "params.index.json").read_text())
    if params.get("method") not in _PLAIN_METHODS or params.get("backend") != "numpy":
        import bm25s

        return bm25s.BM25.load(str(directory), mmap=False, show_progress=False)
    import numpy as np

    vocab = json.loads((directory / "vocab.index.json").read_text(encoding="utf-8"))
    arrays = [np.load(directory / f"{name}.csc.index.npy", allow_pickle=False)
              for name in ("data", "indices", "indptr")]
    return SavedBM25(vocab, *arrays, num_docs=params["num_docs"], dtype=params["dtype"], int_dtype=params["int_dtype"])
