"""Score retrieval, out-of-scope refusals and extractive answers on one question set.

`consensus-chat eval` reaches `run()` through evals/suite.py; tests and scripts call `run()` and get one dict back.
Retrieval metrics use in-scope questions only; each mode ranks the top RANK_DEPTH sections
(MRR is therefore MRR@10) and is scored by ir-measures over section ids (evals/metrics.py).
`report.NOTES` spells out every definition; `report.py` renders. The question set is our JSONL
or a BEIR-style directory (evals/formats.py); `--trec-out` writes TREC run and qrels files.
Each phase lives in the module named for its job; `run` only orders them.
"""

from __future__ import annotations

from pathlib import Path

from consensus_chat.ingest.errors import ConsensusChatError

from .answers import answer_scores, answer_sentences, is_verbatim  # noqa: F401 - part of this module's API
from .baseline import collapse_whitespace  # noqa: F401 - part of this module's API
from .gate import THRESHOLDS_FILE, ThresholdError, gate, load_thresholds, metric  # noqa: F401 - part of this module's API
from .metrics import first_relevant_rank, percentile, rounded
from .questions import (  # noqa: F401 - part of this module's API
    DEFAULT_QUESTIONS,
    KINDS,
    Question,
    QuestionFileError,
    check_titles,
    file_sha256,
    load_questions,
    with_section_ids,
)
from .searches import MODES, RANK_DEPTH, check_modes, search_all

__all__ = ["run", "load_questions", "check_titles", "gate", "answer_scores", "answer_sentences",
           "is_verbatim", "collapse_whitespace"]


def _open(target):
    """(config, retriever) from a Config or an open Retriever."""
    from consensus_chat.ingest.config import Config

    if isinstance(target, Config):
        from consensus_chat.retriever import open_retriever

        return target, open_retriever(config=target)
    return getattr(target, "config", None), target


def run(target, questions_path: Path | str | None = None, modes=MODES, baseline: bool = True,
        *, assistant=None, answers: bool = True, progress=None, retrievers=(), trec_out: Path | None = None,
        conversations: Path | str | bool | None = None) -> dict:
    """Score every question and return the report dict (the shape `eval --json` prints).

    `retrievers` are `module:factory` specs of llama-index BaseRetrievers scored beside our modes;
    `trec_out` is a directory for TREC run and qrels files; `conversations` a conversation file
    (None: the shipped one when answers are scored; False: none).
    """
    from .formats import load_factory
    from .scope_eval import out_of_sample, scope_report

    modes = check_modes(modes)
    questions_path = Path(questions_path) if questions_path is not None else DEFAULT_QUESTIONS
    questions = load_questions(questions_path)
    config, retriever = _open(target)
    sections = retriever.sections()
    questions = with_section_ids(questions, sections, questions_path)
    others = {spec: load_factory(spec) for spec in retrievers}  # a bad spec fails now, not after the run
    in_scope = [q for q in questions if q.kind == "in_scope"]
    say = progress or (lambda msg: None)

    searched = search_all(retriever, questions, modes, RANK_DEPTH, say)
    qrels = {q.id: set(q.relevant_ids) for q in in_scope}
    report: dict = {"n": len(questions), "modes": searched.scores(qrels)}
    say("scope, out of sample")
    hybrid = searched.results["hybrid"]
    decided = out_of_sample(retriever, questions, questions_path, hybrid, k=RANK_DEPTH)
    report["out_of_scope"] = scope_report(decided, questions, hybrid, searched.rankings["hybrid"])
    answer_rows, answer_ms = {}, []
    if answers:
        say("answering")
        if assistant is None:
            assistant = _assistant(config)
        answer_rows, answer_ms = _answers(report, assistant, config, retriever, sections, questions)
        if conversations is not False:
            say("conversations")
            from .conversations import load_conversations, score_conversations

            report["conversations"] = score_conversations(assistant, load_conversations(conversations or None))
    else:
        report["answers"] = {"citation_precision": None, "citation_recall": None, "verbatim_rate": None}
    report["latency_ms"] = _latency(searched.search_ms, answer_ms)
    runs = dict(searched.rankings)
    _compare(report, runs, config, retriever, sections, in_scope, qrels, baseline, others, say)
    if trec_out is not None:
        from .formats import write_trec

        report["trec_files"] = [str(p) for p in write_trec(trec_out, runs, qrels)]
    base_rank = runs.get("baseline", {})
    report["questions"] = [
        _trace(q, hybrid[q.id], {m: first_relevant_rank(searched.rankings[m][q.id], q.relevant_ids) for m in modes},
               first_relevant_rank(base_rank[q.id], q.relevant_ids) if q.id in base_rank else None,
               answer_rows.get(q.id))
        for q in questions
    ]
    report["meta"] = {
        "questions_file": str(questions_path), "questions_sha256": file_sha256(questions_path),
        "index": retriever.store.describe() if hasattr(retriever, "store") else None,
        "sections": len(sections), "rank_depth": RANK_DEPTH,
        "calibrated": getattr(getattr(retriever, "scope_model", None), "source", None) == "fitted",
    }
    return report


def _assistant(config):
    """The extractive assistant over the index the eval scores."""
    from consensus_chat.app import open_assistant

    if config is None:
        raise ConsensusChatError("Scoring answers needs a Config (pass one to run(), not a bare Retriever).")
    return open_assistant(config=config)


def _answers(report: dict, assistant, config, retriever, sections, questions) -> tuple[dict, list[float]]:
    """Ask every question; add the answer scores (and each slice's first-citation rate) to the report."""
    from .answers import answer_all, document_text, first_citation_relevant

    in_scope = [q for q in questions if q.kind == "in_scope"]
    rows, times = answer_all(assistant, retriever, questions, document_text(config, retriever, sections))
    live_kind = report["out_of_scope"]["in_sample"]["kind"]  # answers use the index's own rule
    report["answers"] = {**answer_scores([rows[q.id] for q in in_scope],
                                         [rows[q.id] for q in questions if q.kind == "out_of_scope"]),
                         "refusal_kind": live_kind}
    for tag, row in report["out_of_scope"]["slices"].items():
        tagged = [q for q in in_scope if q.slice == tag]
        if tagged:  # the answer's first citation, as a user reads it
            row["first_citation_relevant"] = rounded(first_citation_relevant(rows, tagged))
            row["first_citation_kind"] = live_kind
    return rows, times


def _latency(search_ms: list[float], answer_ms: list[float]) -> dict:
    return {
        "search_p50": rounded(percentile(search_ms, 50), 1), "search_p95": rounded(percentile(search_ms, 95), 1),
        "answer_p50": rounded(percentile(answer_ms, 50), 1), "answer_p95": rounded(percentile(answer_ms, 95), 1),
        "search_k": RANK_DEPTH, "n_search": len(search_ms), "n_answer": len(answer_ms),
    }


def _compare(report: dict, runs: dict, config, retriever, sections, in_scope, qrels, baseline: bool, others: dict,
             say) -> None:
    """Score llama-index's default pipeline and any `--retriever` beside our modes; add their rankings to `runs`."""
    if baseline:
        say("building the llama-index baseline")
        from .baseline import baseline_report

        report["baseline"], runs["baseline"] = baseline_report(config, retriever, sections, in_scope, qrels,
                                                               RANK_DEPTH)
    if others:
        from .external import corpus_text, score_retrievers

        report["external"], external_runs = score_retrievers(
            others, in_scope, qrels, sections, corpus_text=corpus_text(config, retriever), depth=RANK_DEPTH,
            progress=say)
        runs.update(external_runs)


def _trace(q: Question, result, ranks: dict, baseline_rank, answer_row) -> dict:
    row = {
        "id": q.id, "question": q.question, "kind": q.kind,
        "relevant_titles": list(q.relevant_titles),
        "in_scope": bool(result.in_scope), "scope_score": result.scope_score,
        "first_relevant_rank": ranks.get("hybrid") if q.kind == "in_scope" else None,
        "top3": [h.title for h in result.hits[:3]],
        "ranks": {**(ranks if q.kind == "in_scope" else {m: None for m in ranks}),
                  **({"baseline": baseline_rank} if q.kind == "in_scope" else {})},
    }
    if answer_row is not None:
        row["answer"] = {k: answer_row[k] for k in ("refused", "cited", "verbatim", "not_verbatim")}
    return row


def failures(report: dict) -> list[dict]:
    """In-scope questions whose first relevant hybrid hit is not at rank 1."""
    return [q for q in report["questions"] if q["kind"] == "in_scope" and q["first_relevant_rank"] != 1]


REQUIRED_KEYS = ("n", "modes", "out_of_scope", "answers", "latency_ms", "questions")
