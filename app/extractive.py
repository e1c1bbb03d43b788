"""The offline, deterministic answer composer: verbatim sentences from the retrieved sections.

Every claim sentence is copied from the document, so the answer is faithful by construction; each is followed by an
inline [n] marker that points to its section."""

from __future__ import annotations

from consensus_chat.ingest.lookups import key_surname
from consensus_chat.ingest.section import in_page_order
from consensus_chat.ingest.words import content_words
from consensus_chat.retriever.outline import LIST_WORDS, children_asked, outline_lead
from consensus_chat.retriever.types import Hit, SearchResult

from .asked import asked_of, listed_sentence
from .codes import CODE_WORDS, asks_what_has_code, code_label, lists_label, titles_beside_label
from .crossref import asks_cross_reference, cross_reference_answer
from .overview import asks_layout, named_first, overview_sentence, place_sentence
from .types import Answer, Citation

MAX_SENTENCES = 5
OVERVIEW_CARDS = 12
NEAR_DUPLICATE = 0.9
LEXICAL_WEIGHT = 0.35
# Sentences below this share of the best one add length, not answers (0.7, was 0.8: blind10's turns 129 -> 131 of 135).
RELATIVE_FLOOR = 0.7
# Sentences come from this many top sections; not the top one only when ranked close to it (no stray sentence).
ANSWER_SECTIONS = 3
# Another section's sentence must score this share of the best: a weaker one costs more precision than it adds recall.
OTHER_SECTION_FLOOR = 0.9
NOT_COVERED = "**Not covered.**"  # how every refusal begins (app/memory.py recognises a refusal in plain history)
# "Tell me more about <a title>", "Summarise <a title>", "What does <a title> cover?": the whole card is asked for.
WHOLE_WORDS = frozenset("tell summarise summarize summary describe overview cover covers".split())


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


class ExtractiveComposer:
    """Pick the sentences of the retrieved sections that best answer the question."""

    name = "extractive"

    def __init__(self, embedder, sentences, sections=None):
        self.embedder = embedder
        self._sentences = sentences  # Retriever.sentences: (sentences, vectors) of a section, cached
        self._all_sections = sections  # Retriever.sections: every section, for an overview answer

    # -- structured questions ------------------------------------------------------------------
    def structured(self, question: str, result: SearchResult) -> Answer | None:
        """Direct answers when the question names things rather than asking about a topic.

        Decided by what the retriever found in the question (retriever/topic.py), never by cue
        words alone: a list of citing sections needs a source key the document has, a report answer
        needs a question with no topic beyond the document itself.
        """
        hits, topic = result.hits, result.topic
        if not hits or topic is None:
            return None
        top = hits[0]
        kinds = topic.kinds()
        # "List the sections under <a parent title>": the parent's children, from the parser's hierarchy.
        outline = children_asked(topic, self._all_sections() if self._all_sections else [h.section for h in hits], result.evidence)
        if outline is not None and outline[1]:
            return self._list(question, outline[1], result, lead=outline_lead(*outline))
        if top.kind == "card" and asks_cross_reference(question, top.title):  # "Does it refer to other sections?"
            body, quoted = cross_reference_answer(top.heading, self._sentences(top)[0])
            return self._answer(question, body, [Citation.from_hit(1, top, q) for q in quoted], result)
        if topic.about_document and not topic.about_work or topic.asks_authorship and top.kind == "source" or (
                asks_layout(topic, top, self._all_sections)):  # "Which category is the page in?" (app/overview.py)
            # "Who wrote this report?" (the source record first); "What does it leave out?" (`about_work`): quoted below
            source = next((h for h in hits if h.kind == "source"), None)
            if source is not None and (topic.asks_authorship or topic.rests_on or "author" in kinds or "source" in topic.meta):
                return self._report(question, source, result)
            return self._overview(question, result)
        if top.kind == "tags" and top.matched_by:  # "What tags does the page give?", "Which actor is it tagged with?"
            return self._tags(question, top, result)
        if set(topic.words) <= LIST_WORDS and "source-key" in kinds:  # "Which parts of the page cite X?"
            named = {i for e in topic.entities if e.kind == "source-key" for i in e.ids}
            keyed = [h for h in hits if h.id in named]
            return self._list(question, keyed, result, keys=[e.text for e in topic.entities if e.kind == "source-key"])
        asks_code = any(m in CODE_WORDS for m in topic.meta)
        has_code = asks_what_has_code(topic, kinds)
        if asks_code and top.kind == "card" and ("title" in kinds or not topic.empty) and not has_code:
            sentence = self._best_sentence(question, top)
            body = f"**{top.heading}** is coded **{code_label(top)}** [1]."
            return self._answer(question, body, [Citation.from_hit(1, top, sentence)], result)
        if has_code or topic.empty and kinds & {"code", "label"} or lists_label(topic):
            kind = "code" if "code" in kinds else "label"
            named = {i for e in topic.entities if e.kind == kind for i in e.ids}
            titled = {i for e in titles_beside_label(topic) for i in e.ids}  # "Which <parent> areas share …?"
            return self._list(question, [h for h in hits if h.id in (named - titled or named)], result)
        # "What does the metrology section cite?": the sources of the one card it is about.
        if topic.asks_citations and top.kind == "card" and "source-key" not in kinds:
            return self._cites(question, top, result)
        if topic.empty and "title" in kinds and top.kind == "card" and top.matched_by and set(topic.meta) & WHOLE_WORDS:
            sentences = self._sentences(top)[0][:MAX_SENTENCES]  # the card in its own order, not one best sentence
            body = " ".join(f"{s} [1]" for s in sentences)
            return self._answer(question, body, [Citation.from_hit(1, top, s) for s in sentences], result)
        return None

    def _cites(self, question: str, top: Hit, result: SearchResult) -> Answer:
        if not top.citations:
            sentence = self._best_sentence(question, top)
            body = f"**{top.heading}** ({code_label(top)}) cites no sources [1]."
            return self._answer(question, body, [Citation.from_hit(1, top, sentence)], result)
        cites = [s for s in self._sentences(top)[0] if any(k in s for k in top.citations)]
        body_lines = [f"**{top.heading}** ({code_label(top)}) cites {', '.join(top.citations)} [1]:"]
        body_lines += [f"- {s} [1]" for s in cites]
        citations = [Citation.from_hit(1, top, s) for s in cites] or [
            Citation.from_hit(1, top, self._best_sentence(question, top))]
        return self._answer(question, "\n".join(body_lines), citations, result, listed_keys=tuple(top.citations))

    def _overview(self, question: str, result: SearchResult) -> Answer:
        """A question only about the document ("What does the report say?"): a short cited overview."""
        sections = self._all_sections() if self._all_sections else [h.section for h in result.hits]
        cards = [s for s in sections if s.kind == "card"]
        about = [s for s in sections if s.kind in ("overview", "source")][:2]
        about = named_first(about, sections, result.topic) or cards[:1]
        citations, quotes = [], []
        for n, section in enumerate(about, 1):
            if not self._sentences(section)[0]:
                continue
            sentence = self._best_sentence(question, section, result.topic if section.kind == "overview" else None)
            citations.append(Citation.from_section(n, section, sentence))
            quotes.append(f"{sentence} [{n}]")
        names = "; ".join(c.title for c in cards[:OVERVIEW_CARDS]) + ("; …" if len(cards) > OVERVIEW_CARDS else "")
        lead = f"The document covers {len(cards)} research area{'s' if len(cards) != 1 else ''}: {names}."
        body = lead + ("\n\n" + " ".join(quotes) if quotes else "")
        return self._answer(question, body, citations, result, listed=tuple(c.id for c in cards[:OVERVIEW_CARDS]))

    def _report(self, question: str, hit: Hit, result: SearchResult) -> Answer:
        people = list(dict.fromkeys(hit.authors))  # an author listed twice is one person
        year = hit.year
        shown = "; ".join(people[:8]) + (f"; and {len(people) - 8} more" if len(people) > 8 else "")
        sentence = place_sentence(question, self._sentences(hit)[0], hit.authors) or self._best_sentence(question, hit)
        named = [p for e in result.topic.entities if e.kind == "author" for p in people if p.split(",")[0] == e.text]
        lead = "".join(f"**{p}** is one of the authors [1]. " for p in dict.fromkeys(named))
        body = lead + (f"**{hit.title}** was published in **{year or 'an unknown year'}** by {len(people)} "
                f"authors: {shown} [1].\n\n{sentence} [1]")
        return self._answer(question, body, [Citation.from_hit(1, hit, sentence)], result)

    def _tags(self, question: str, hit: Hit, result: SearchResult) -> Answer:
        lines = [line.strip() for line in hit.text.split("\n") if line.strip()]
        named = {e.text for e in result.topic.entities if hit.id in e.ids}  # "What does Measure mean here?": its line
        lines = [line for line in lines if any(line.lower().startswith(f"{t.lower()} (") for t in named)] or lines
        listed = "\n".join(f"- {line} [1]" for line in lines)
        body = f"{lines[0]} [1]" if len(lines) == 1 else f"The page's tags [1]:\n\n{listed}"
        return self._answer(question, body, [Citation.from_hit(1, hit, lines[0] if lines else hit.text)], result)

    def each(self, question: str, hits: list, result: SearchResult, *, ranked: bool = False, lead: str = "",
             keys: list[str] | None = None) -> Answer:
        """Each of several sections, in document order (given order with `ranked`), with its best sentence (the one
        citing one of `keys`, when given)."""
        return self._list(question, hits, result, keys=keys, ranked=ranked, lead=lead)

    def _list(self, question: str, hits: list, result: SearchResult, keys: list[str] | None = None,
              lead: str = "", ranked: bool = False) -> Answer:
        """Every named section (hits or Sections), in document order unless `ranked`, each with one quoted
        sentence: for a cited source, the sentence that cites it; otherwise the section's first, defining one."""
        wanted = {k.lower() for k in keys or ()}
        citations, lines = [], []
        if not ranked:
            hits = in_page_order(hits)  # document order
        for n, hit in enumerate(hits, 1):
            sentences = self._sentences(hit)[0]
            sentence = None
            if wanted:
                sentence = next((s for s in sentences
                                 if any(c.lower() in wanted or c.split("-")[0].lower() in wanted
                                        or key_surname(c) in wanted  # "Lorenzo": "Di Lorenzo"
                                        for c in hit.citations if c in s)), None)
            elif sentences:  # a list the question chose by its words: the sentence that uses them (app/asked.py)
                sentence = sentences[0] if lead or not result.topic else listed_sentence(result.topic.words, sentences)
            sentence = sentence or self._best_sentence(question, hit)
            code = f"{code_label(hit)} — " if hit.code else ""
            lines.append(f"- {code}**{hit.heading}**: {sentence} [{n}]")
            citations.append(Citation.from_section(n, getattr(hit, "section", hit), sentence))
        plural = len(hits) != 1
        named = " and ".join(dict.fromkeys(keys or ()))
        what = ("cite" if plural else "cites") + f" {named}" if wanted else ("match" if plural else "matches")
        lead = lead or f"{len(hits)} section{'s' if plural else ''} {what}:"
        body = f"{lead}\n\n" + "\n".join(lines)
        return self._answer(question, body, citations, result, listed=tuple(h.id for h in hits))

    def _best_sentence(self, question: str, hit: Hit, overview_topic=None) -> str:
        sentences, vectors = self._sentences(hit)
        if not sentences:
            return hit.text.strip()
        scores = vectors @ self.embedder.encode_one(question)
        if overview_topic is not None:  # the page's overview: its layout says which line answers (app/overview.py)
            return overview_sentence(question, overview_topic, hit.text, sentences, scores)
        return sentences[int(scores.argmax())]

    # -- free questions --------------------------------------------------------------------------
    def compose(self, question: str, result: SearchResult, written: str = "") -> Answer:
        """Up to five verbatim sentences, each with its [n] marker, then the source list. `written`: the question as
        the user wrote it, when a follow-up was resolved into `question` (app/asked.py)."""
        structured = self.structured(question, result)
        if structured is not None:
            return structured
        hits = [h for h in result.hits if h.kind != "tags"] or result.hits
        exact = [h for h in hits if h.matched_by]
        if exact:
            hits = exact + [h for h in hits if not h.matched_by][:2]
        # Under a research-area card, the page's overview or source record adds context, not an answer.
        hits = [h for n, h in enumerate(hits[:ANSWER_SECTIONS]) if n == 0 or h.kind == hits[0].kind or h.matched_by]
        asked = asked_of(question, hits[0], result.topic, written)  # what is asked of a section named for the user
        q_first = self.embedder.encode_one(asked) if asked != question else None
        if question.endswith(f" — {hits[0].title}"):
            q = q_first  # a follow-up joined with a title: every section's sentences by what is asked of it
        else:  # the search already embedded the searched text: its vector is reused (one built elsewhere may lack it)
            q = result.searched_vector if result.searched and result.searched_vector is not None else (
                self.embedder.encode_one(result.searched or question))
        q_first = q if q_first is None else q_first
        words_first, words = set(content_words(asked)), set(content_words(asked if q is q_first else question))
        candidates = []
        for rank, hit in enumerate(hits):
            sentences, vectors = self._sentences(hit)
            if not sentences:
                continue
            # The named section's sentences by what is asked of it, the others by the whole question.
            dense, q_words = (vectors @ q_first, words_first) if rank == 0 else (vectors @ q, words)
            for i, sentence in enumerate(sentences):
                overlap = len(q_words & set(content_words(sentence))) / max(1, len(q_words))
                prior = 0.08 * (1.0 / (rank + 1)) + (0.1 if hit.matched_by else 0.0)
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
            if cand[1] > 0 and cand[0] < best * OTHER_SECTION_FLOOR:
                continue  # another section is quoted only when its sentence is nearly as good
            if any(float(cand[5] @ c[5]) > NEAR_DUPLICATE for c in chosen):
                continue
            chosen.append(cand)
        whole, lead = [c for c in candidates if c[1] == 0], None  # a card (or record) is a few sentences: the top
        if hits[0].kind in ("card", "source") and len(whole) <= MAX_SENTENCES:  # one is quoted whole, asked one first
            lead, chosen = whole[0], whole + [c for c in chosen if c[1] > 0][:MAX_SENTENCES - len(whole)]
        elif chosen and all(c[1] > 0 for c in chosen):
            # The first-ranked section is quoted first, with its best sentence, even when another's sentence is
            # closer to the question's words ("audit benchmarks" beside the card that lists its sub-areas).
            top = next((c for c in candidates if c[1] == 0), None)
            if top is not None:
                chosen = [top] + chosen[:MAX_SENTENCES - 1]
        # Sensible order: sections by rank, sentences in document order within a section (after a whole card's lead).
        chosen.sort(key=lambda c: (c[1], c is not lead, c[2]))
        numbers: dict[str, int] = {}
        citations, parts = [], []
        for _, _, _, hit, sentence, _ in chosen:
            n = numbers.setdefault(hit.id, len(numbers) + 1)
            citations.append(Citation.from_hit(n, hit, sentence))
            parts.append(f"{sentence} [{n}]")
        return self._answer(question, " ".join(parts), citations, result)

    def _answer(self, question: str, body: str, citations: list[Citation], result: SearchResult, *,
                listed: tuple[str, ...] = (), listed_keys: tuple[str, ...] = ()) -> Answer:
        return Answer(question=question, text=render_answer(body, citations), citations=citations,
                      sources=list(result.hits), refused=False, backend=self.name, body=body,
                      notices=result.notices, listed=listed, listed_keys=listed_keys)


def refusal(question: str, result: SearchResult, backend: str) -> Answer:
    """The document does not cover the question: say so, name the nearest sections, invent nothing."""
    nearest = [h for h in result.hits if h.kind in ("card", "source")][:3] or result.hits[:3]
    names = "; ".join(f"{h.code + ' ' if h.code else ''}{h.heading}" for h in nearest)
    body = (
        f"{NOT_COVERED} The document does not appear to cover this question, so there is no answer to cite."
        + (f" The nearest sections are: {names}. Try rephrasing with the words of one of them." if names else "")
    )
    return Answer(question=question, text=body, citations=[], sources=list(result.hits), refused=True,
                  backend=backend, body=body, notices=result.notices)


def follow_up_refusal(question: str, reason: str, backend: str) -> Answer:
    """A follow-up with nothing to build on (it points back at a refusal, or past the end of a list): say why and
    ask what is meant; no section is quoted or offered as nearest."""
    body = f"{NOT_COVERED} {reason}"
    return Answer(question=question, text=body, citations=[], sources=[], refused=True, backend=backend, body=body)
