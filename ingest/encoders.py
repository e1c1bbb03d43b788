"""The encoders of one ingest, and the one-time everyday-word table they fill."""

from __future__ import annotations

import sys
from pathlib import Path

from .embedder import load_embedder, overridden
from .progress import Progress, note
from .query_encoder import open_document_encoder


class Encoders:
    """The encoders of one ingest, each opened on first use: `documents` embeds the chunks (the caller's
    embedder or a `use_embedder` stand-in if any, else `words`); `words` is the model as searches embed
    with it (the checked ONNX export, else sentence-transformers), for the word table and word vectors."""

    def __init__(self, spec, exported: Path | None, embedder):
        self._spec, self._exported, self._given = spec, exported, embedder
        self._words = self._documents = None

    @property
    def words(self):
        """The model as searches embed with it."""
        if self._words is None:
            # No export (it failed, with a warning already): sentence-transformers, without trying again.
            self._words = (open_document_encoder(self._spec, stand_ins=False) if self._exported is not None
                           else load_embedder(spec=self._spec))
        return self._words

    @property
    def documents(self):
        """What embeds the chunks."""
        if self._documents is None:
            # One ONNX session for both: a second would hold the model twice.
            self._documents = self._given or overridden(self._spec) or self.words
        return self._documents


def ensure_word_table(models: Encoders, spec, quiet: bool, sections) -> frozenset[str]:
    """Encode the model's most frequent everyday words, and the sections' own, once per model (ingest/wordtable.py);
    the words whose vectors the cache holds (the index saves the document's others), or none without a table."""
    from .wordtable import HEAD_WORDS, load_table, table_words, wordpiece_lexicon, words_path
    from .wordtable_write import ensure_table

    lexicon = wordpiece_lexicon(str(spec.path))
    if not lexicon:
        return frozenset()
    if load_table(spec.weights_sha256, lexicon, None) is not None:
        return frozenset(words_path(spec.weights_sha256).read_text(encoding="utf-8").split())
    encoder = models.words
    count = min(HEAD_WORDS, len(table_words(lexicon)))
    what = f"Encoding the {count:,} most frequent everyday words (once per model)"
    if not quiet and not sys.stderr.isatty():
        note(f"{what}...")
    with Progress(not quiet) as progress:
        task = progress.task(what, count)
        head = ensure_table(spec.weights_sha256, lexicon, lambda batch: encoder.encode(batch, batch_size=512),
                            lambda n: progress.advance(task, n), _document_words(sections))
    return frozenset(head or ())


def _document_words(sections) -> list[str]:
    # Lazy: the saved parts' word list (ingest/words.py); only needed when something is encoded.
    from .words import document_words

    return document_words(sections)


def add_document_words(models: Encoders, spec, sections, everyday: frozenset[str]) -> frozenset[str]:
    """Add the sections' everyday words to the cached table (once per model, like the head), and the Zipf
    frequencies of its words and the sections' to the cache; the words the table then holds, which the index's
    own word vectors leave out. Unchanged without a table."""
    from .wordfreqs import remember
    from .wordtable import wordpiece_lexicon
    from .wordtable_write import add_words

    words = _document_words(sections)
    held = add_words(spec.weights_sha256, wordpiece_lexicon(str(spec.path)), words,
                     lambda batch: models.words.encode(batch, batch_size=512)) if everyday else None
    everyday = everyday if held is None else frozenset(held)
    remember([*words, *everyday])  # how common each is, for questions that use them (ingest/wordfreqs.py)
    return everyday
