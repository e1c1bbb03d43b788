"""The offline, deterministic answer composer: verbatim sentences from the retrieved sections.

Every claim sentence is copied from the document, so the answer is faithful by construction;
each is followed by an inline [n] marker that points to its section.
"""

from __future__ import annotations

import re
import threading

from ingest.text import split_sentences, words
from retriever.types import Hit, SearchResult

from .types import Answer, Citation

MAX_SENTENCES = 5
NEAR_DUPLICATE = 0.9
LEXICAL_WEIGHT = 0.35
# Sentences scoring below this share of the best one are dropped: they add length, not answers.
RELATIVE_FLOOR = 0.75

_STOP = set(
    "a an and are as at be by can could do does for from has have how i in is it its of on or that the their "
    "there these this to was were what when where which who why will with would about into than then they them "
    "document say says said section sections tell me us".split()
)
_CODE_OF = re.compile(r"\b(what|which)\b[^?]*\bcode\b|\bcode (?:of|for)\b|\bcoded as\b|\bnumbered\b", re.I)
_CITES_OF = re.compile(r"\b(cite|cites|cited|citing|references?|sources?|who is cited)\b", re.I)
_WHO_WHEN = re.compile(r"\b(who|authors?|wrote|written|when|year|published)\b", re.I)
_LIST_CUE = re.compile(r"\b(which|what|list|all|every|under|coded|labelled|labeled|fall)\b", re.I)


def content_words(text: str) -> list[str]:
    """Words that carry meaning (no stopwords), for lexical overlap."""
    return [w for w in words(text) if w not in _STOP and len(w) > 1]


def render_sources(citations: list[Citation]) -> str:
    """The numbered source list under an answer, one line per cited section."""
    if not citations:
        return ""
    seen, lines = set(), []
    for c in citations:
        if c.n not in seen:
            seen.add(c.n)
            lines.append(c.source_line())
    return "**Sources**\n\n" + "  \n".join(lines)


def render_answer(body: str, citations: list[Citation]) -> str:
    """Body, a blank line, then the source list."""
    sources = render_sources(citations)
    return f"{body}\n\n{sources}" if sources else body


def _citation(n: int, hit: Hit, sentence: str) -> Citation:
    return Citation(n=n, id=hit.id, code=hit.code, label=hit.label, title=hit.title, parent=hit.parent,
                    citations=hit.citations, sentence=sentence)


class ExtractiveComposer:
    """Pick the sentences of the retrieved sections that best answer the question."""

    name = "extractive"

    def __init__(self, embedder):
        self.embedder = embedder
        self._cache: dict[tuple[str, str], tuple[list[str], object]] = {}
        self._lock = threading.Lock()

    def _sentences(self, hit: Hit):
        """Sentences of a section and their embeddings, computed once per section text."""
        key = (hit.id, hit.text)
        cached = self._cache.get(key)
        if cached is None:
            sentences = [s for s in split_sentences(hit.text) if not s.startswith("Authors:")]
            vectors = self.embedder.encode(sentences) if sentences else None
            cached = (sentences, vectors)
            with self._lock:
                self._cache[key] = cached
        return cached

    # -- structured questions ------------------------------------------------------------------
    def structured(self, question: str, result: SearchResult) -> Answer | None:
        """Direct answers for code, source-key, label, code-of and authorship questions."""
        hits = result.hits
        exact = [h for h in hits if h.exact]
        if not hits:
            return None
        top = hits[0]
        kinds = {h.exact for h in exact}
        if top.exact == "report" and _WHO_WHEN.search(question) and top.kind == "source":
            return self._report(question, top, result)
        if "source-key" in kinds and top.exact == "source-key":
            keyed = [h for h in exact if h.exact == "source-key"]
            return self._list(question, keyed, result, cite_sentence=True)
        if top.exact in ("code", "label") and _LIST_CUE.search(question) and not _CODE_OF.search(question):
            same = [h for h in exact if h.exact == top.exact]
            return self._list(question, same, result, cite_sentence=False)
        if _CODE_OF.search(question) and top.kind == "card":
            sentence = self._best_sentence(question, top)
            body = f"**{top.heading}** is coded **{top.code} {top.label}** [1]."
            return self._answer(question, body, [_citation(1, top, sentence)], result)
        # "What does it cite?" about one card: named by its title, or the clear top hit with no exact match.
        if _CITES_OF.search(question) and top.kind == "card" and (top.exact == "title" or not exact):
            if not top.citations:
                sentence = self._best_sentence(question, top)
                body = f"**{top.heading}** ({top.code} {top.label}) cites no sources [1]."
                return self._answer(question, body, [_citation(1, top, sentence)], result)
            cites = [s for s in self._sentences(top)[0] if any(k in s for k in top.citations)]
            body_lines = [f"**{top.heading}** ({top.code} {top.label}) cites {', '.join(top.citations)} [1]:"]
            body_lines += [f"- {s} [1]" for s in cites]
            citations = [_citation(1, top, s) for s in cites] or [_citation(1, top, self._best_sentence(question, top))]
            return self._answer(question, "\n".join(body_lines), citations, result)
        return None

    def _report(self, question: str, hit: Hit, result: SearchResult) -> Answer:
        authors = [line for line in hit.text.split("\n") if line.startswith("Authors:")]
        names = authors[0][len("Authors: "):] if authors else ""
        people = [a.strip() for a in re.sub(r"\s*\(\d{4}\)$", "", names).split(";") if a.strip()]
        year = re.search(r"\((\d{4})\)", names)
        shown = "; ".join(people[:8]) + (f"; and {len(people) - 8} more" if len(people) > 8 else "")
        sentence = self._best_sentence(question, hit)
        body = (f"**{hit.title}** was published in **{year[1] if year else 'an unknown year'}** by {len(people)} "
                f"authors: {shown} [1].\n\n{sentence} [1]")
        return self._answer(question, body, [_citation(1, hit, sentence)], result)

    def _list(self, question: str, hits: list[Hit], result: SearchResult, cite_sentence: bool) -> Answer:
        keys = set()
        for token in re.findall(r"[A-Za-z][A-Za-z0-9-]*", question):
            keys.add(token.lower())
        citations, lines = [], []
        hits = sorted(hits, key=lambda h: (h.source_file, h.line_start))  # document order
        for n, hit in enumerate(hits, 1):
            sentence = None
            if cite_sentence:
                sentence = next((s for s in self._sentences(hit)[0]
                                 if any(k.lower() in keys or k.split("-")[0].lower() in keys for k in _keys_in(s))), None)
            sentence = sentence or self._best_sentence(question, hit)
            code = f"{hit.code} {hit.label} — " if hit.code else ""
            lines.append(f"- {code}**{hit.heading}** [{n}]: {sentence} [{n}]")
            citations.append(_citation(n, hit, sentence))
        plural = len(hits) != 1
        what = ("cite" if plural else "cites") + " this source" if cite_sentence else ("match" if plural else "matches")
        body = f"{len(hits)} section{'s' if plural else ''} {what}:\n\n" + "\n".join(lines)
        return self._answer(question, body, citations, result)

    def _best_sentence(self, question: str, hit: Hit) -> str:
        sentences, vectors = self._sentences(hit)
        if not sentences:
            return hit.text.strip()
        q = self.embedder.encode_one(question)
        scores = vectors @ q
        return sentences[int(scores.argmax())]

    # -- free questions --------------------------------------------------------------------------
    def compose(self, question: str, result: SearchResult) -> Answer:
        """Up to five verbatim sentences, each with its [n] marker, then the source list."""
        structured = self.structured(question, result)
        if structured is not None:
            return structured
        hits = [h for h in result.hits if h.kind != "tags"] or result.hits
        exact = [h for h in hits if h.exact]
        if exact:
            hits = exact + [h for h in hits if not h.exact][:2]
        q = self.embedder.encode_one(question)
        q_words = set(content_words(question))
        candidates = []
        for rank, hit in enumerate(hits[:5]):
            sentences, vectors = self._sentences(hit)
            if not sentences:
                continue
            dense = vectors @ q
            for i, sentence in enumerate(sentences):
                overlap = len(q_words & set(content_words(sentence))) / max(1, len(q_words))
                prior = 0.08 * (1.0 / (rank + 1)) + (0.1 if hit.exact else 0.0)
                score = float(dense[i]) + LEXICAL_WEIGHT * overlap + prior
                candidates.append((score, rank, i, hit, sentence, vectors[i]))
        if not candidates:
            return self._answer(question, "The retrieved sections have no text to quote.", [], result)
        candidates.sort(key=lambda c: -c[0])
        best = candidates[0][0]
        chosen = []
        for cand in candidates:
            if len(chosen) >= MAX_SENTENCES:
                break
            if chosen and cand[0] < best * RELATIVE_FLOOR:
                break
            if any(float(cand[5] @ c[5]) > NEAR_DUPLICATE for c in chosen):
                continue
            chosen.append(cand)
        # Sensible order: sections by rank, sentences in document order within a section.
        chosen.sort(key=lambda c: (c[1], c[2]))
        numbers: dict[str, int] = {}
        citations, parts = [], []
        for _, _, _, hit, sentence, _ in chosen:
            n = numbers.setdefault(hit.id, len(numbers) + 1)
            citations.append(_citation(n, hit, sentence))
            parts.append(f"{sentence} [{n}]")
        return self._answer(question, " ".join(parts), citations, result)

    def _answer(self, question: str, body: str, citations: list[Citation], result: SearchResult) -> Answer:
        return Answer(question=question, text=render_answer(body, citations), citations=citations,
                      sources=list(result.hits), refused=False, backend=self.name, body=body,
                      notices=result.notices)


def _keys_in(sentence: str) -> list[str]:
    from ingest.parser import _citations  # the parser's own rule for what a source key is

    return list(_citations(sentence))


def refusal(question: str, result: SearchResult, backend: str) -> Answer:
    """The document does not cover the question: say so, name the nearest sections, invent nothing."""
    nearest = [h for h in result.hits if h.kind in ("card", "source")][:3] or result.hits[:3]
    names = "; ".join(f"{h.code + ' ' if h.code else ''}{h.heading}" for h in nearest)
    body = (
        "**Not covered.** The document does not appear to cover this question, so there is no answer to cite."
        + (f" The nearest sections are: {names}. Try rephrasing with the words of one of them." if names else "")
    )
    return Answer(question=question, text=body, citations=[], sources=list(result.hits), refused=True,
                  backend=backend, body=body, notices=result.notices)
