"""Check an LLM answer's [n] markers against the sections they point to. Pure functions, no network.

A marker survives only if its number names a source and that source supports the sentence
the marker follows. Survivors are renumbered 1..n in order of first appearance. The checks are
plain code that runs on every answer, so nothing in the document or the question can turn them off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from consensus_chat.ingest.text import split_sentences, words
from consensus_chat.ingest.words import content_words
from consensus_chat.retriever.types import Hit

from .types import Citation

# Thresholds calibrated on the shipped document with all-MiniLM-L6-v2 (the numbers are from that run):
# - paraphrases and fragments of a section's own sentences: dense 0.59-0.95, lexical 0.43-1.0, and every
#   one passes at least one test below;
# - each sentence of a card against the best sentence of an unrelated card (295 pairs; the parent card
#   and its own sub-areas overlap on purpose and were left out): dense max 0.57, lexical max 0.40;
# - hand-written unsupported claims (other sections' facts, off-topic, prompt talk): dense <= 0.46,
#   lexical <= 0.33.
DENSE_SUPPORT = 0.6
# Share of the sentence's content words found in the section, each word weighted by how informative it
# is in general English (retriever/decision.py): sharing "system" or "answer" proves less than sharing
# "metrology", so a wrong section rarely holds half of a claim's weight.
LEXICAL_SUPPORT = 0.5
# A lexical match also needs this many shared words, so a two-word sentence can't pass on one word.
LEXICAL_MIN_WORDS = 2
# Sentences that share this many consecutive words with the instructions echo the prompt.
ECHO_NGRAM = 8
# Shorter sentences echo it when all their words (at least this many) appear in a row in the instructions.
ECHO_MIN_WORDS = 4

_MARKER = re.compile(r"[ \t]*\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_MODEL_SOURCE_LIST = re.compile(r"^\s*(?:#+\s*|\*\*)?(?:sources?|references?|citations?)\b\s*(?:\*\*)?\s*:?", re.I)
_MARKDOWN = re.compile(r"(\*\*|__|`|^\s*(?:[-*+]|\d+[.)])\s+|^\s*#+\s*)", re.M)
@dataclass(frozen=True)
class Verified:
    """An LLM answer after verification: the cleaned body and the citations that survived."""

    body: str
    citations: list[Citation]
    flags: tuple[str, ...]
    supported_count: int


def claim_words(text: str) -> list[tuple[str, float]]:
    """A claim's topic words (ingest.words.content_words), stemmed with PyStemmer, each with its
    general-English informativeness, for lexical support."""
    words = content_words(text)
    return list(zip(_stem(words), (_weight(w) for w in words)))


def _weight(word: str) -> float:
    from consensus_chat.retriever.evidence import informativeness_of_zipf, zipf

    return informativeness_of_zipf(zipf(word))


def _stem(tokens: list[str]) -> list[str]:
    from consensus_chat.ingest.lexical import stem_words

    return stem_words(tokens)


def plain(text: str) -> str:
    """A sentence without markers or markdown, as it is shown in a Citation."""
    text = _MARKER.sub("", text)
    text = _MARKDOWN.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


def lexical_support(sentence: str, hit: Hit) -> float:
    """Informativeness-weighted share of the sentence's content words found in the hit's text and heading
    (0 below LEXICAL_MIN_WORDS shared words)."""
    claim = claim_words(sentence)
    pool = {stem for stem, _ in claim_words(_hit_pool(hit))}
    shared = sum(stem in pool for stem, _ in claim)
    total = sum(weight for _, weight in claim)
    if shared < LEXICAL_MIN_WORDS or total <= 0:
        return 0.0
    return sum(weight for stem, weight in claim if stem in pool) / total


def _hit_pool(hit: Hit) -> str:
    return " ".join(filter(None, [hit.code, hit.label, hit.heading, " ".join(hit.citations), hit.text]))


class _SentenceCache:
    """Sentence vectors of each hit, encoded once per verify() call."""

    def __init__(self, embedder):
        self.embedder = embedder
        self._hits: dict[tuple[str, str], object] = {}
        self._claims: dict[str, object] = {}

    def hit_vectors(self, hit: Hit):
        key = (hit.id, hit.text)
        if key not in self._hits:
            units = [s for s in split_sentences(hit.text) if s.strip()] + [hit.heading]
            self._hits[key] = self.embedder.encode(units)
        return self._hits[key]

    def claim_vector(self, sentence: str):
        if sentence not in self._claims:
            self._claims[sentence] = self.embedder.encode_one(sentence)
        return self._claims[sentence]


def dense_support(sentence: str, hit: Hit, embedder, cache: _SentenceCache | None = None) -> float:
    """Cosine of the sentence with the best-matching sentence (or heading) of the hit."""
    cache = cache or _SentenceCache(embedder)
    vectors = cache.hit_vectors(hit)
    if not len(vectors):
        return 0.0
    return float((vectors @ cache.claim_vector(sentence)).max())


def supports(sentence: str, hit: Hit, embedder, cache: _SentenceCache | None = None) -> bool:
    """True if the hit supports the sentence: lexical overlap or dense similarity over its threshold."""
    if not claim_words(sentence):
        return False
    if lexical_support(sentence, hit) >= LEXICAL_SUPPORT:
        return True
    return dense_support(sentence, hit, embedder, cache) >= DENSE_SUPPORT


def drop_model_source_list(text: str) -> str:
    """Cut a 'Sources:' / 'References' block the model wrote itself; ours is rendered from verified citations."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if i > 0 and _MODEL_SOURCE_LIST.match(line):
            return "\n".join(lines[:i]).rstrip()
    return text


def redact_echo(text: str, secrets: list[str], n: int = ECHO_NGRAM) -> tuple[str, tuple[str, ...]]:
    """Remove sentences that repeat our instructions: n consecutive words, or a whole short sentence of them."""
    shingles, streams = set(), []
    for secret in secrets:
        w = words(secret)
        shingles.update(tuple(w[i:i + n]) for i in range(len(w) - n + 1))
        streams.append(f" {' '.join(w)} ")
    if not shingles and not streams:
        return text, ()

    def echoes(sentence: str) -> bool:
        w = words(sentence)
        if len(w) >= n:
            return any(tuple(w[i:i + n]) in shingles for i in range(len(w) - n + 1))
        return len(w) >= ECHO_MIN_WORDS and any(f" {' '.join(w)} " in s for s in streams)

    flags: list[str] = []
    out_lines = []
    for line in text.split("\n"):
        sentences = split_sentences(line)
        kept = [s for s in sentences if not echoes(s)]
        flags += ["removed-system-prompt-echo"] * (len(sentences) - len(kept))
        if len(kept) == len(sentences):
            out_lines.append(line)
        elif kept:
            out_lines.append(" ".join(kept))
    return "\n".join(out_lines), tuple(flags)


def _sentence_before(text_without_markers: str) -> str:
    """The sentence a marker follows: the last sentence of the text before it."""
    prefix = text_without_markers.rstrip()
    line = prefix.rsplit("\n", 1)[-1]
    sentences = split_sentences(line)
    return plain(sentences[-1]) if sentences else ""


def _sentence_after(rest: str) -> str:
    """The sentence a leading marker ('[1] Claim.' or '- [1] Claim.') introduces."""
    line = _MARKER.sub("", rest.split("\n", 1)[0])
    sentences = split_sentences(line)
    return plain(sentences[0]) if sentences else ""


def verify(text: str, hits: list[Hit], embedder) -> Verified:
    """Keep the markers whose source exists and supports their sentence; renumber them 1..n."""
    text = drop_model_source_list(text.strip())
    cache = _SentenceCache(embedder)
    flags: list[str] = []
    numbers: dict[int, int] = {}  # old source number -> new number
    citations: list[Citation] = []
    seen: set[tuple[int, str]] = set()
    verdicts: dict[tuple[int, str], bool] = {}
    out: list[str] = []
    stripped: list[str] = []  # the text so far without any markers, to find each marker's sentence
    pos = 0
    supported = 0
    for match in _MARKER.finditer(text):
        piece = text[pos:match.start()]
        out.append(piece)
        stripped.append(piece)
        pos = match.end()
        sentence = _sentence_before("".join(stripped))
        if not claim_words(sentence):  # the marker leads its sentence instead of following it
            sentence = _sentence_after(text[pos:])
        kept: list[int] = []
        for raw in dict.fromkeys(int(x) for x in re.split(r"\s*,\s*", match.group(1))):
            if not 1 <= raw <= len(hits):
                flags.append(f"removed-marker-no-source:[{raw}]")
                continue
            key = (raw, sentence)
            if key not in verdicts:
                verdicts[key] = supports(sentence, hits[raw - 1], embedder, cache)
            if not verdicts[key]:
                flags.append(f"removed-marker-unsupported:[{raw}]")
                continue
            new = numbers.setdefault(raw, len(numbers) + 1)
            kept.append(new)
            supported += 1
            if (new, sentence) not in seen:
                seen.add((new, sentence))
                hit = hits[raw - 1]
                citations.append(Citation.from_hit(new, hit, sentence))
        if kept:
            leading = match.group(0)[: match.group(0).index("[")]
            out.append(f"{leading}[{', '.join(map(str, kept))}]")
    out.append(text[pos:])
    body = "".join(out)
    # A removed marker takes its leading space with it ("claim [7]." -> "claim."); a leading one
    # ("- [7] Claim") leaves two spaces behind.
    body = re.sub(r"(?<=\S)[ \t]{2,}(?=\S)", " ", body).strip()
    return Verified(body=body, citations=citations, flags=tuple(flags), supported_count=supported)
