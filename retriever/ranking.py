"""Ranking: exact look-ups on top, then the weighted mean of the dense, soft-word, phrase and telling-word BM25
signals over the candidates dense and BM25 recalled (CombSUM)."""

from __future__ import annotations

from consensus_chat.ingest.lexical import query_terms
from consensus_chat.ingest.section import Section, asks_overview_line
from consensus_chat.ingest.text import split_sentences
from consensus_chat.ingest.words import content_words

from .evidence import ZIPF_COMMON, ZIPF_EVERYDAY, zipf
from .outline import asks_subjects_place
from .topic import DOCUMENT_NOUNS, Topic
from .types import Hit

# Tiers: a higher tier always ranks above a lower one and above any fused score (< 1). Entities only
# lift a section's rank; whether the document covers a question is decided by its topic (scope.py).
TIER_CODE = 4.0
TIER_KEY = 4.0
TIER_LABEL = 3.5  # only found when the question asks about labels or categories
TIER_TITLE = 3.0
TIER_REPORT = 3.0  # the source record, for questions about the document itself
# How far a broad section (ranking.broad_sections) must lead on the fused score, a weighted mean of signals each
# scaled to [0, 1], to rank above the specific sections: three tenths of that range. First chosen (0.2) on the
# development pages and blind set 7; chosen again on blind sets 7-26 read as development data (5,268 questions, the
# telling words' BM25 in place): rank-1 misses at 0.2 / 0.3 / 0.4 / 0.5: 249 / 235 / 231 / 235, MRR 0.956 / 0.958 /
# 0.957 / 0.956; conversation turns wrong (of 4,119) at 0.2 / 0.3 / 0.4: 193 / 193 / 200; development pages' misses
# 23 / 22 / 21. 0.4 loses turns that want the source record. A broad section a look-up names keeps its tier.
BROAD_MARGIN = 0.3
# The weight of BM25 over the question's telling words (`telling_text`) beside the other three signals' 1 each (then).
# Chosen on blind sets 7-25 read as development data (5,003 questions over 19 sets): rank-1 misses 289 -> 229 (before
# named words were left out, weight 0.25: 247, 0.35: 235, 0.5: 230, 1: 236; every word at 0.5: 252); `evals/pages/`
# 20 -> 23.
TELLING_WEIGHT = 0.5
# The weight of the chunk cosine beside the soft word match's 1 (and the phrase match's, then 1). It was 1 (the signals
# weighing the same) until chosen on blind sets 7-31 read as development data (6,593 questions over 25 sets, every
# page; 2026-12-07): rank-1 misses at 1 / 1.25 / 1.5 / 1.75 / 2 / 3: 267 / 251 / 242 / 242 / 243 / 249; of the two
# fewest, 1.5 gets more conversation turns right (of 5,119: 240 / 239 / 242 wrong at 1 / 1.5 / 1.75). What the whole
# question means now outweighs one word a section happens to share with it ("predicting" in "predicting wider effects
# on society"); the word signals still decide between sections the cosine cannot tell apart.
DENSE_WEIGHT = 1.5
# The weight of the phrase match (adjacent question words a section uses side by side) beside the soft word match's 1.
# Adjacent pairs are sparse: the few sections sharing one get the whole of the signal after scaling, so at 1 a pair
# such as "model behaviour" in a section's title outranked the section the question was about. The sequential-
# dependence model it comes from weighs ordered pairs well below single words (Metzler and Croft 2005: 0.1 against
# 0.85). Chosen on blind sets 7-32 read as development data (6,858 questions over 26 sets, every page; 2026-12-07):
# rank-1 misses at 1 / 0.75 / 0.5 / 0.25 / 0: 254 / 246 / 235 / 241 / 244; conversation turns wrong (of 5,319) 246 at 1,
# 248 at 0.5. A two-word question that is one of the page's phrases ("model theft?") now leans on the cosine more.
PHRASE_WEIGHT = 0.5
# Hit.matched_by (why a section was named exactly) -> the tier that lifted it.
TIER_BY_REASON = {"code": TIER_CODE, "source-key": TIER_KEY, "title": TIER_TITLE, "label": TIER_LABEL,
                  "report": TIER_REPORT, "area": TIER_TITLE}


def exact_matches(topic: Topic, sections: dict[str, Section],
                  children: dict[str, tuple[str, ...]]) -> dict[str, tuple[float, str]]:
    """Sections the question names exactly, with the tier that lifts them and why. `children` is `sub_areas` of
    `sections` (the generation keeps it, so a search does not walk every section for it)."""
    found: dict[str, tuple[float, str]] = {}

    def add(ids, tier, reason):
        for i in ids:
            if i not in found or found[i][0] < tier:
                found[i] = (tier, reason)

    for entity in topic.entities:
        if entity.kind == "author":
            add(entity.ids, TIER_REPORT, "report")
        else:
            add(entity.ids, TIER_BY_REASON[entity.kind], entity.kind)
        if entity.kind == "title":
            # An area's title names its sub-areas too (a question about one sub-area's topic "in <the area>"
            # names the area, not the sub-area): they rise with it, one tier, and the fused score picks among them.
            named = dict.fromkeys(sections[i].title for i in entity.ids if i in sections)
            add([i for title in named for i in children.get(title, ())], TIER_TITLE, "area")
    authors_asked = asks_who_wrote(topic) or names_its_report(topic)
    if asks_overview_line(topic.question) and not topic.entities or asks_subjects_place(topic, sections.values()):
        # "Which category is it also listed in?", "What reasoning is given for classifying it here?", "What broad
        # category is <the page's subject> placed in?": the overview's layout lines (no card has a parent category or a
        # reasoning line; nor has the source record).
        add([i for i, s in sections.items() if s.kind == "overview"], TIER_REPORT, "report")
    elif topic.about_work or topic.about_document or authors_asked:
        # "Who wrote this report?" or "What does the document say?": the source record and overview. "What does the
        # report leave out?", "Which readers is the guide for?" (`about_work`): what the source work says of itself, in
        # its record's abstract, whatever else the question names ("What does the report aim to achieve for children?").
        wanted = ("source",) if topic.about_work or topic.asks_authorship or topic.rests_on else ("source", "overview")
        add([i for i, s in sections.items() if s.kind in wanted], TIER_REPORT, "report")
    return found


def names_its_report(topic: Topic) -> bool:
    """Who wrote or dated a document the question calls a report (a guide, an agenda: `DOCUMENT_NOUNS`), in one
    sentence, whatever else it calls it by ("Who are the eight authors of the Legionella report?"): a page rests on one
    report, its source record. Not a question about what cites what, and not a longer question whose story can use
    such words of another report ("Last week a researcher … wants to publish it …")."""
    return (topic.asks_authorship and bool(set(topic.meta) & DOCUMENT_NOUNS) and not topic.asks_citations
            and len(split_sentences(topic.question)) <= 1)


def asks_who_wrote(topic: Topic) -> bool:
    """Who wrote or dated the document, with nothing named beside it but its authors, and only common English words
    ("Who is the review's first author?": "first" says which), or up to two everyday words beside a noun for the
    document ("When was the report released?", "Who are the lead names on the report?"). Ranking and the decision
    (`decision.judged`) read it alike: a question in scope for it ranks the source record first."""
    if not topic.asks_authorship or any(e.kind != "author" for e in topic.entities):
        return False
    rarer = [w for w in topic.words if zipf(w) < ZIPF_COMMON]
    return not rarer or len(rarer) <= 2 and all(zipf(w) >= ZIPF_EVERYDAY for w in rarer) and bool(
        set(topic.meta) & DOCUMENT_NOUNS)


def rank(generation, topic: Topic, reading, k: int, n_cand: int, mode: str, allowed, stem) -> list[Hit]:
    """The top k sections for a reading of the question (retriever/evidence.py), in the order the mode gives."""
    dense = reading.dense
    lexical, telling = {}, {}
    if mode == "lexical":
        lexical, _ = lexical_scores(generation, reading.text, n_cand, allowed, stem)
    elif mode == "hybrid":
        named = {w for e in topic.entities for w in content_words(e.text)}  # their tier lifts them already
        lexical, telling = lexical_scores(generation, reading.text, n_cand, allowed, stem,
                                          telling_text(reading.text, named))
    exact = exact_matches(topic, generation.sections, generation.children) if mode == "hybrid" else {}
    if allowed is not None:
        exact = {i: m for i, m in exact.items() if i in allowed}
    if mode == "dense":
        scored = dict(dense)
    elif mode == "lexical":
        scored = dict(lexical)
    else:
        scored = fuse(generation.sections, generation.matcher, topic, reading.text, dense, lexical, exact,
                      generation.broad, telling)
    return ranked_hits(generation.sections, scored, dense, lexical, exact, k)


def telling_text(text: str, named: frozenset[str] | set[str] = frozenset()) -> str:
    """The words of `text` that tell one section from another in general English (Zipf below ZIPF_COMMON): "What's
    the point of estimating how bad a harm is?" -> "estimating harm". BM25 over every word lets a common one ("point",
    "happened") that one section repeats outweigh the question's subject. The words of what the question names
    exactly (`named`: a title, a key) are left out: their tier lifts their sections, and counted again they would
    pick among those sections by how often each repeats the name ("Summarise the <parent area> section")."""
    return " ".join(w for w in content_words(text) if zipf(w) < ZIPF_COMMON and w not in named)


def lexical_scores(generation, query: str, n_cand: int, allowed, stem,
                   telling: str | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """Section id -> best BM25 score of its chunks among the `n_cand` best, for the sections `allowed` lets through:
    over every term of `query`, and over the terms of `telling` alone ({} without it).

    BM25 is a sum over query terms, so when the telling terms are among the query's (they are its words, filtered)
    they are scored once and the rest's scores added to them: one pass over the index's postings and one filter
    mask, not two (a second pass made a search at 100,000 sections half as slow again: p50 16.8 -> 25.4 ms)."""
    import numpy as np
    from collections import Counter

    vocab = generation.bm25.vocab_dict
    words = [w for w in query_terms(query, stem) if w in vocab]
    told = [w for w in query_terms(telling, stem) if w in vocab] if telling else []
    rest = Counter(words)
    rest.subtract(told)
    score = generation.bm25.get_scores
    if told and min(rest.values()) >= 0:
        told_scores = score(told)
        others = list(rest.elements())
        all_scores = told_scores + score(others) if others else told_scores
    else:  # a telling term the full query splits differently: score both
        all_scores = score(words) if words else None
        told_scores = score(told) if told else None
    mask = None
    if allowed is not None and (all_scores is not None or told_scores is not None):
        mask = np.fromiter((sid in allowed for sid in generation.chunk_sections), dtype=bool,
                           count=len(generation.chunk_sections))
    return (_best_by_section(generation, all_scores, n_cand, mask),
            _best_by_section(generation, told_scores, n_cand, mask))


def _best_by_section(generation, scores, n_cand: int, mask) -> dict[str, float]:
    import numpy as np

    if scores is None:
        return {}
    if mask is not None:
        scores = np.where(mask, scores, 0.0)
    top = np.argpartition(-scores, min(n_cand, len(scores) - 1))[:n_cand]
    best: dict[str, float] = {}
    for i, score in zip(top.tolist(), scores[top].tolist()):  # Python floats at once, the values float() gave
        if score <= 0:
            continue
        sid = generation.chunk_sections[i]
        if score > best.get(sid, 0.0):
            best[sid] = score
    return best


def fuse(sections: dict[str, Section], matcher, topic: Topic, text: str, dense: dict, lexical: dict,
         exact: dict, broad: frozenset[str], telling: dict) -> dict[str, float]:
    """Hybrid scores of the candidates dense and BM25 recalled: an exact look-up's tier, plus the weighted mean
    of four signals, each min-max scaled over the candidates (CombSUM, Fox and Shaw 1994): the chunk
    cosine (`DENSE_WEIGHT`), the soft word match (1) and the phrase match (`PHRASE_WEIGHT`; retriever/wordmatch.py),
    BM25 over the telling words (`telling`, `TELLING_WEIGHT`), less `BROAD_MARGIN` for a broad section
    (`broad_sections`) that no look-up named."""
    candidates = [sections[sid] for sid in dict.fromkeys([*dense, *lexical, *exact])]
    words = content_words(text) if topic.words else []
    soft, phrase = matcher.scores(words, candidates)
    dense, soft, phrase, telling = min_max(dense), min_max(soft), min_max(phrase), min_max(telling)
    total = DENSE_WEIGHT + 1 + PHRASE_WEIGHT + TELLING_WEIGHT
    return {s.id: (exact[s.id][0] if s.id in exact else -BROAD_MARGIN if s.id in broad else 0.0)
            + (DENSE_WEIGHT * dense.get(s.id, 0.0) + soft.get(s.id, 0.0) + PHRASE_WEIGHT * phrase.get(s.id, 0.0)
               + TELLING_WEIGHT * telling.get(s.id, 0.0)) / total
            for s in candidates}


def sub_areas(sections: dict[str, Section]) -> dict[str, tuple[str, ...]]:
    """A parent area's title -> the ids of the sections under it, in document order."""
    out: dict[str, list[str]] = {}
    for sid, s in sections.items():
        if s.parent:
            out.setdefault(s.parent, []).append(sid)
    return {parent: tuple(ids) for parent, ids in out.items()}


def broad_sections(sections: dict[str, Section], children: dict[str, tuple[str, ...]]) -> frozenset[str]:
    """The sections about many topics at once: the page's overview, the source record, every area with
    sub-areas (a card whose title is in `children`, `sub_areas` of `sections`), and the tag lines. Each sums up
    what the others say (the tags, what the whole page is for), so it matches any question on its subject about
    as well as the section that answers it."""
    return frozenset(sid for sid, s in sections.items()
                     if s.kind in ("overview", "source", "tags") or (s.kind == "card" and s.title in children))


def min_max(scores: dict[str, float]) -> dict[str, float]:
    """Scores scaled to [0, 1] over the candidates (all 1.0 when they are equal)."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    return {k: (v - low) / (high - low) if high > low else 1.0 for k, v in scores.items()}


def ranked_hits(sections: dict[str, Section], scored: dict[str, float], dense: dict, lexical: dict, exact: dict,
                k: int) -> list[Hit]:
    """The top k sections as Hits, each with every signal's own score and rank."""
    dense_rank = {sid: r for r, sid in enumerate(sorted(dense, key=dense.get, reverse=True), 1)}
    lex_rank = {sid: r for r, sid in enumerate(sorted(lexical, key=lexical.get, reverse=True), 1)}
    ordered = sorted(scored, key=lambda sid: (-scored[sid], sid))[:k]
    return [_hit(sections[sid], scored[sid], dense.get(sid), dense_rank.get(sid), lexical.get(sid),
                 lex_rank.get(sid), exact[sid][1] if sid in exact else None) for sid in ordered]


def _hit(section: Section, score, dense_score, dense_rank, lexical_score, lexical_rank, matched_by) -> Hit:
    return Hit(section=section, score=float(score), dense_score=dense_score, dense_rank=dense_rank,
               lexical_score=lexical_score, lexical_rank=lexical_rank, matched_by=matched_by)
