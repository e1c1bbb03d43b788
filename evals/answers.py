"""Score the assistant's answers: cited sections against the relevant titles, and verbatim quoting."""

from __future__ import annotations

import re

from consensus_chat.ingest.errors import ConsensusChatError

from .baseline import collapse_whitespace, corpus_paths
from .metrics import mean
from .metrics import rounded as _r

_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def answer_sentences(answer) -> list[str]:
    """The sentences an answer asserts: each cited sentence, and the body's sentences without [n] markers."""
    from consensus_chat.ingest.text import split_sentences

    out = [c.sentence for c in answer.citations if c.sentence and c.sentence.strip()]
    body = _MARKER.sub("", answer.body or "")
    for line in body.split("\n"):
        line = line.strip()
        # Markdown list bullets and blockquote marks are layout, not document text.
        line = re.sub(r"^(?:[-*+>]|\d+\.)\s+", "", line)
        if line:
            out.extend(split_sentences(line))
    return [s.strip() for s in out if s.strip()]


def is_verbatim(sentence: str, document: str) -> bool:
    """A sentence is verbatim when, whitespace-normalised, it is a substring of the document."""
    return collapse_whitespace(sentence) in document


def document_text(config, retriever, sections) -> str:
    """Section texts and the raw corpus file(s), whitespace-normalised, for the verbatim check."""
    parts = [s.text for s in sections]
    try:
        paths = corpus_paths(retriever.manifest, getattr(config, "index_dir", None))
    except ConsensusChatError:
        paths = []  # the corpus file moved; section texts alone still hold every card
    parts += [p.read_text(encoding="utf-8-sig") for p in paths]
    return "\n".join(collapse_whitespace(p) for p in parts)


def score_answer(answer, relevant_titles, document: str) -> dict:
    """One answer's row: what it cited, how much of it was relevant, and whether it quotes verbatim."""
    cited: dict[str, str] = {}
    for c in answer.citations:
        cited.setdefault(c.id, c.title)
    relevant = set(relevant_titles)
    sentences = answer_sentences(answer)
    not_verbatim = [s for s in sentences if not is_verbatim(s, document)]
    return {
        "refused": bool(answer.refused),
        "cited": list(cited.values()),
        "cited_relevant": sum(1 for t in cited.values() if t in relevant),
        "relevant_cited": len(relevant & set(cited.values())),
        "n_relevant": len(relevant),
        "n_sentences": len(sentences),
        "verbatim": bool(sentences) and not not_verbatim,
        "quotes_verbatim": bool(answer.citations) and all(is_verbatim(c.sentence, document) for c in answer.citations),
        "not_verbatim": not_verbatim[:3],
    }


def answer_scores(in_rows: list[dict], out_rows: list[dict] = ()) -> dict:
    """Citation precision (micro), citation recall (macro), verbatim rate and answers citing a relevant section."""
    n_cited = sum(len(r["cited"]) for r in in_rows)
    answered = [r for r in in_rows if not r["refused"]]
    return {
        "citation_precision": _r(sum(r["cited_relevant"] for r in in_rows) / n_cited if n_cited else None),
        "citation_recall": _r(mean(r["relevant_cited"] / r["n_relevant"] for r in in_rows if r["n_relevant"])),
        # Over answers that say something (a refusal quotes nothing, so it cannot be verbatim).
        "verbatim_rate": _r(mean(1.0 if r["verbatim"] else 0.0 for r in answered)),
        # Only the quoted Citation.sentence texts, not the composer's framing (e.g. "X is coded 2.2.1").
        "quote_verbatim_rate": _r(mean(1.0 if r["quotes_verbatim"] else 0.0 for r in answered)),
        "answers_citing_relevant": _r(mean(1.0 if r["cited_relevant"] else 0.0 for r in in_rows)),
        "answer_refusal_rate_in_scope": _r(mean(1.0 if r["refused"] else 0.0 for r in in_rows)),
        "answer_refusal_rate_out_of_scope": _r(mean(1.0 if r["refused"] else 0.0 for r in out_rows)),
    }




def answer_all(assistant, retriever, questions, document: str) -> tuple[dict[str, dict], list[float]]:
    """Ask every question once, as a new question each time: ({id: scored row}, answer times in ms)."""
    import time

    assistant.answer(questions[0].question)  # warm-up
    rows: dict[str, dict] = {}
    times: list[float] = []
    for q in questions:
        retriever.embedder.clear_cache()  # time the answer as a new question, not a cached one
        start = time.perf_counter()
        answer = assistant.answer(q.question)
        times.append((time.perf_counter() - start) * 1000.0)
        rows[q.id] = score_answer(answer, q.relevant_titles, document)
    return rows, times


def first_citation_relevant(rows: dict[str, dict], questions) -> float | None:
    """Share of the questions whose answer's first citation is one of their relevant sections."""
    return mean(bool(rows[q.id]["cited"]) and rows[q.id]["cited"][0] in q.relevant_titles for q in questions)
