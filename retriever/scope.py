"""Does the document cover a question? Decided on the question's topic, from evidence in the document.

Two features, both measured on the topic (meta words, stopwords and named entities set aside):
- `dense`: the best cosine between the topic and a sentence (or a chunk) of the top-ranked sections;
- `coverage`: the share of topic words the document uses (stemmed; an abbreviation counts when it is
  the start of a document word, "interp" for "interpretability"; a misspelling when it is close to one).
A question is in scope when `dense + coverage_weight * coverage >= threshold`. The weight and the
threshold are fitted by `python -m evals.calibrate` with cross-validation and stored with the model's
weights hash and the corpus hash; an index of another corpus uses the documented DEFAULT below.

A question with no topic words at all (only a code, a source key, a title, or words about the
document such as "Who wrote this report?") is in scope: what it names is in the document.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IndexCorrupt

log = logging.getLogger(__name__)

CALIBRATION_FILE = Path(__file__).resolve().parent / "calibration.json"
UBIQUITOUS = 0.4  # share of sections a stem must appear in to count as ubiquitous
_MEMO_MAX = 50_000  # words remembered per vocabulary (expansions, corrections) before the memo starts over


@dataclass(frozen=True)
class ScopeFeatures:
    """The evidence scope is decided on, for one question with topic words."""

    dense: float  # best chunk cosine of the topic
    coverage: float  # share of topic words the document uses
    unknown_names: tuple[str, ...] = ()  # names the question uses and the document never does


@dataclass(frozen=True)
class ScopeModel:
    """A linear rule on the two scope features, and where its numbers came from."""

    coverage_weight: float
    threshold: float
    source: str = "default"  # "fitted" (for this model and corpus) or "default"
    questions_sha256: str = ""  # the question file a fitted rule was fitted on

    def score(self, dense: float, coverage: float) -> float:
        """The combined evidence that the document covers the topic."""
        return dense + self.coverage_weight * coverage

    def covers(self, dense: float, coverage: float) -> bool:
        """In scope?"""
        return self.score(dense, coverage) >= self.threshold


# For a corpus without a calibration of its own. Fitted by
#     python -m evals.calibrate --default evals/pages/pages.json
# on three pages at once (the shipped page and tests/data's two, each page weighing the same), so it is
# not the shipped page's own rule; docs/scope.md gives its leave-one-page-out rates (each page judged
# by the rule fitted on the other two). Both features are corpus-independent in kind (a cosine and a
# share); `consensus-chat eval` says when this rule is in use.
DEFAULT = ScopeModel(coverage_weight=0.1, threshold=0.273, source="default")


def load_scope_model(weights_sha256: str, corpus_sha256: str | None) -> ScopeModel:
    """The calibration fitted for this model and corpus, else DEFAULT (with a logged reason)."""
    path = Path(os.environ.get("CONSENSUS_CHAT_CALIBRATION", CALIBRATION_FILE))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        log.info("no scope calibration at %s; using the default", path)
        return DEFAULT
    except (ValueError, UnicodeDecodeError):
        raise IndexCorrupt(f"{path} is not valid JSON; regenerate it with `python -m evals.calibrate --write`.") from None
    if not isinstance(data, dict):
        raise IndexCorrupt(f"{path} is not a calibration record; regenerate it with `python -m evals.calibrate --write`.")
    if data.get("model_weights_sha256") != weights_sha256 or data.get("corpus_sha256") != corpus_sha256:
        log.info("scope calibration %s is for another model or corpus; using the default", path)
        return DEFAULT
    try:
        return ScopeModel(float(data["coverage_weight"]), float(data["threshold"]), "fitted",
                          str(data.get("questions_sha256", "")))
    except (KeyError, TypeError, ValueError):
        raise IndexCorrupt(f"{path} lacks coverage_weight/threshold; regenerate it with "
                           "`python -m evals.calibrate --write`.") from None


def document_vocabulary(sections, stem, lexicon: frozenset[str] = frozenset()) -> Vocabulary:
    """The vocabulary of an index's sections, without source keys and author names."""
    names = {k.lower() for s in sections for c in s.citations for k in c.split("-")}
    names |= {w.lower() for s in sections for a in s.authors for w in re.findall(r"[A-Za-z]+", a)}
    texts = [f"{s.title}\n{s.parent or ''}\n{s.text}" for s in sections]
    return Vocabulary(texts, names, stem, lexicon)


class Vocabulary:
    """The document's words, stemmed, for topic coverage and spelling correction."""

    def __init__(self, texts: list[str], exclude: set[str], stem, lexicon: frozenset[str]):
        words: dict[str, int] = {}
        word_df: dict[str, int] = {}
        df: dict[str, int] = {}
        for text in texts:
            seen = set()
            every = set(re.findall(r"[a-z]+", text.lower()))
            for w in every:  # names too: a source key is a rare word of the sections that cite it
                word_df[w] = word_df.get(w, 0) + 1
            for w in re.findall(r"[a-z]+", text.lower()):
                if w not in exclude:
                    words[w] = words.get(w, 0) + 1
                    seen.add(w)
            for st in set(stem(list(seen))):
                df[st] = df.get(st, 0) + 1
        self.words = words  # word -> count
        self.word_df = word_df  # word -> number of sections that use it (for idf weights in ranking)
        self.n_texts = len(texts)
        self.stem = stem
        self.stems = frozenset(df)
        # Stems in most sections ("ai", "model" on a page about AI models) say nothing about whether
        # a question's topic is covered, so coverage leaves them out when the topic has other words.
        self.ubiquitous = frozenset(st for st, n in df.items() if len(texts) >= 5 and n / len(texts) >= UBIQUITOUS)
        self.lexicon = lexicon
        self._memo()

    def to_dict(self) -> dict:
        """What `from_dict` needs to rebuild this vocabulary without reading the texts again (saved parts)."""
        return {"words": self.words, "stems": sorted(self.stems), "ubiquitous": sorted(self.ubiquitous),
                "word_df": self.word_df, "n_texts": self.n_texts}

    @classmethod
    def from_dict(cls, data: dict, stem, lexicon: frozenset[str]) -> Vocabulary:
        """The vocabulary `to_dict` described; KeyError or TypeError if `data` is not such a dict."""
        vocabulary = cls.__new__(cls)
        vocabulary.words = {str(w): int(n) for w, n in data["words"].items()}
        vocabulary.word_df = {str(w): int(n) for w, n in data["word_df"].items()}
        vocabulary.n_texts = int(data["n_texts"])
        vocabulary.stem = stem
        vocabulary.stems = frozenset(data["stems"])
        vocabulary.ubiquitous = frozenset(data["ubiquitous"])
        vocabulary.lexicon = lexicon
        vocabulary._memo()
        return vocabulary

    def _memo(self) -> None:
        # Every question's words are expanded and corrected twice (the search text, then coverage), and a
        # serving process meets the same words again and again; difflib over the vocabulary is the cost.
        self._by_prefix: dict[str, str] = {}
        self._corrected: dict[str, str] = {}
        self._by_length: dict[int, list[str]] | None = None

    def covers(self, word: str) -> bool:
        """The document uses this word or an inflection of it."""
        return word in self.words or self.stem([word])[0] in self.stems

    def expand(self, word: str) -> str | None:
        """The document word an abbreviation stands for ("interp" -> "interpretability"), if any.

        Only for a word of four letters or more that is not itself an everyday English word, so
        "app" or "model" are never read as the start of something else.
        """
        if len(word) < 4 or word in self.lexicon or self.covers(word):
            return None
        found = self._by_prefix.get(word)
        if found is None:
            longer = [w for w in self.words if w.startswith(word) and len(w) >= len(word) + 2]
            found = max(longer, key=lambda w: (self.words[w], -len(w))) if longer else ""
            _remember(self._by_prefix, word, found)
        return found or None

    def correct(self, word: str) -> str | None:
        """The document word a misspelt word was meant to be ("thougt" -> "thought"), if any.

        difflib rather than a spelling library: the only dictionary that matters is the document's
        own vocabulary. Words the document uses (or an inflection of them) and everyday English
        words are never rewritten.
        """
        import difflib

        if len(word) < 5 or word in self.lexicon or self.covers(word):
            return None
        found = self._corrected.get(word)
        if found is None:
            if self._by_length is None:
                by_length: dict[int, list[str]] = {}
                for w in self.words:
                    by_length.setdefault(len(w), []).append(w)
                self._by_length = by_length
            pool = [w for n in range(len(word) - 2, len(word) + 3) for w in self._by_length.get(n, ())]
            close = difflib.get_close_matches(word, pool, n=1, cutoff=0.84)
            found = close[0] if close else ""
            _remember(self._corrected, word, found)
        return found or None


def _remember(memo: dict[str, str], word: str, value: str) -> None:
    """Store one memo entry; a memo that reached _MEMO_MAX starts over (a bound against endless new words)."""
    if len(memo) >= _MEMO_MAX:
        memo.clear()
    memo[word] = value


def unknown_names(topic, vocabulary: Vocabulary, analyzer) -> list[str]:
    """Names the question uses that the document never does ("the EU AI Act", "Kubernetes").

    A name is a run of capitalised words that is not at the start of a sentence and is not one of the
    document's own entities (a source key, an author, a title, a label). A question about something the
    document never names is not covered by it, however close its other words come; the refusal can
    then say exactly what is missing.
    """
    from .topic import _bare, _content_parts, tokens

    question = topic.question
    words = [m.group(0) for m in tokens(question)]
    if sum(w[0].isupper() for w in words) * 2 > len(words):
        return []  # Title Case or SHOUTED: capitals say nothing about names here
    spans = [(e.start, e.end) for e in topic.entities]
    runs: list[list] = []
    last_end = None
    for m in tokens(question):
        word = m.group(0)
        before = question[: m.start()].rstrip()
        initial = not before or before[-1] in ".?!:;\"“("
        inside = any(a <= m.start() and m.end() <= b for a, b in spans)
        if len(word) < 2 or not word[0].isupper() or initial or inside:
            last_end = None
            continue
        if last_end is not None and not question[last_end:m.start()].strip():
            runs[-1].append(m)
        else:
            runs.append([m])
        last_end = m.end()
    def unknown(piece: str) -> bool:
        # Only the capitalised pieces of a word name something ("generated" in "AI-generated" does not),
        # and a two-letter acronym ("AI", "EU") is too ambiguous to name anything by itself.
        if not piece[:1].isupper() or (len(piece) <= 2 and piece.isupper()) or analyzer.is_document_name(piece):
            return False
        parts = _content_parts(_bare(piece))
        return any(not (vocabulary.covers(p) or vocabulary.expand(p) or vocabulary.correct(p)) for p in parts)

    return [question[run[0].start(): run[-1].end()] for run in runs
            if any(unknown(piece) for m in run for piece in m.group(0).split("-"))]


def coverage(words, vocabulary: Vocabulary) -> float:
    """Share of topic words the document covers (ubiquitous words aside)."""
    if not words:
        return 1.0
    specific = [w for w in words if vocabulary.stem([w])[0] not in vocabulary.ubiquitous]
    words = specific or list(words)
    missing = [w for w in words if not (vocabulary.covers(w) or vocabulary.expand(w) or vocabulary.correct(w))]
    return 1.0 - len(missing) / len(words)
