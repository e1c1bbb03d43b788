"""Score retrieval, out-of-scope refusals and extractive answers on a JSONL question set.

`consensus-chat eval` calls `main()`; tests and scripts call `run()` and get one dict back.
Retrieval metrics use in-scope questions only; each mode ranks the top RANK_DEPTH sections
(MRR is therefore MRR@10) and is scored by ir-measures over section ids (evals/metrics.py).
`report.NOTES` spells out every definition; `report.py` renders. The question set is our JSONL
or a BEIR-style directory (evals/formats.py); `--trec-out` writes TREC run and qrels files.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ingest.errors import ConsensusChatError
from ingest.jsonl import split_lines

from .answers import answer_scores, answer_sentences, document_text, is_verbatim, score_answer
from .baseline import normalise
from .metrics import first_relevant_rank, mean, percentile, retrieval_scores, sections_ranking

__all__ = ["run", "main", "load_questions", "check_titles", "gate", "answer_scores", "answer_sentences",
           "is_verbatim", "normalise"]

DEFAULT_QUESTIONS = Path(__file__).resolve().parent / "questions.jsonl"
THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.json"
MODES = ("hybrid", "dense", "lexical")
KINDS = ("in_scope", "out_of_scope")
RANK_DEPTH = 10


class QuestionFileError(ConsensusChatError):
    """The question file is missing or has a malformed line."""


class ThresholdError(ConsensusChatError):
    """thresholds.json is missing or names a metric the report does not have."""


@dataclass(frozen=True)
class Question:
    """One line of a question file."""

    id: str
    question: str
    relevant_titles: tuple[str, ...]
    relevant_codes: tuple[str, ...]
    kind: str
    line: int = 0
    relevant_ids: tuple[str, ...] = ()  # section ids; a BEIR dataset gives these instead of titles
    slice: str = ""  # optional tag for a slice of the set ("cue_words", "meta_words"), scored apart


# -- the question file ---------------------------------------------------------------------------

def load_questions(path: Path | str | None = None) -> list[Question]:
    """Read and validate a JSONL question file or a BEIR-style directory; a bad line raises with its number."""
    path = Path(path) if path is not None else DEFAULT_QUESTIONS
    from .formats import is_beir, load_beir

    if is_beir(path):
        return [Question(r["id"], r["question"], (), (), r["kind"], r["line"], r["relevant_ids"])
                for r in load_beir(path)]
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise QuestionFileError(f"{path}: file not found. Pass an existing JSONL file with --questions.") from None
    except UnicodeDecodeError:
        raise QuestionFileError(f"{path}: not valid UTF-8. Save the question file as UTF-8.") from None
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(split_lines(raw), 1):
        if not line.strip():
            continue
        q = _parse_line(line, f"{path.name} line {n}")
        if q.id in seen:
            raise QuestionFileError(f"{path.name} line {n}: duplicate id {q.id!r} (first used on line {seen[q.id]}).")
        seen[q.id] = n
        questions.append(Question(q.id, q.question, q.relevant_titles, q.relevant_codes, q.kind, n, slice=q.slice))
    if not questions:
        raise QuestionFileError(f"{path}: holds no questions (one JSON object per line expected).")
    return questions


def _parse_line(line: str, where: str) -> Question:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise QuestionFileError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}).") from None
    if not isinstance(obj, dict):
        raise QuestionFileError(f"{where}: expected a JSON object, got {type(obj).__name__}.")
    for key in ("id", "question"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise QuestionFileError(f"{where}: field {key!r} must be a non-empty string.")
    for key in ("relevant_titles", "relevant_codes"):
        if key not in obj:
            raise QuestionFileError(f"{where}: missing field {key!r} (use [] for none).")
        value = obj[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise QuestionFileError(f"{where}: field {key!r} must be a list of non-empty strings.")
    kind = obj.get("kind")
    if kind not in KINDS:
        raise QuestionFileError(f"{where}: field 'kind' must be 'in_scope' or 'out_of_scope', not {kind!r}.")
    if kind == "in_scope" and not obj["relevant_titles"]:
        raise QuestionFileError(f"{where}: an in_scope question needs at least one relevant title.")
    if kind == "out_of_scope" and (obj["relevant_titles"] or obj["relevant_codes"]):
        raise QuestionFileError(f"{where}: an out_of_scope question must have empty relevant_titles and relevant_codes.")
    tag = obj.get("slice", "")
    if not isinstance(tag, str):
        raise QuestionFileError(f"{where}: field 'slice' must be a string when given.")
    return Question(obj["id"], obj["question"], tuple(obj["relevant_titles"]), tuple(obj["relevant_codes"]), kind,
                    slice=tag)


def resolve(questions: list[Question], sections, path: Path) -> list[Question]:
    """Questions with both their relevant titles and section ids, checked against the index."""
    check_titles(questions, {s.title for s in sections}, path)
    title_of = {s.id: s.title for s in sections}
    out = []
    for q in questions:
        unknown = [i for i in q.relevant_ids if i not in title_of]
        if unknown:
            raise QuestionFileError(f"{path.name}: query {q.id!r} names corpus id {unknown[0]!r}, which is not a "
                                    "section id of the index (see `consensus-chat sections --json`).")
        ids = q.relevant_ids or tuple(s.id for s in sections if s.title in q.relevant_titles)
        titles = q.relevant_titles or tuple(dict.fromkeys(title_of[i] for i in ids))
        out.append(replace(q, relevant_titles=titles, relevant_ids=ids))
    return out


def check_titles(questions: list[Question], titles: set[str], path: Path) -> None:
    """Every relevant title must name a section of the index, or the question could never score."""
    for q in questions:
        unknown = [t for t in q.relevant_titles if t not in titles]
        if unknown:
            raise QuestionFileError(
                f"{path.name} line {q.line}: relevant title {unknown[0]!r} is not a section title of the index "
                f"(titles are given without their parent, e.g. {sorted(titles)[0]!r})."
            )


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes; of a BEIR directory, of its queries and qrels together."""
    path = Path(path)
    if path.is_dir():
        digest = hashlib.sha256()
        for part in (path / "queries.jsonl", path / "qrels" / "test.tsv"):
            digest.update(part.read_bytes())
        return digest.hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- running ---------------------------------------------------------------------------------------

def _open(target):
    """(config, retriever) from a Config or an open Retriever."""
    from ingest.config import Config

    if isinstance(target, Config):
        from retriever import open_retriever

        return target, open_retriever(config=target)
    return getattr(target, "config", None), target


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, (time.perf_counter() - start) * 1000.0


def _r(x, digits: int = 4):
    return None if x is None else round(float(x), digits)


def run(target, questions_path: Path | str | None = None, modes=MODES, baseline: bool = True,
        *, assistant=None, answers: bool = True, progress=None, retrievers=(), trec_out: Path | None = None,
        conversations: Path | str | bool | None = None) -> dict:
    """Score every question and return the report dict (the shape `eval --json` prints).

    `retrievers` are `module:factory` specs of llama-index BaseRetrievers scored beside our modes;
    `trec_out` is a directory for TREC run and qrels files; `conversations` a conversation file
    (None: the shipped one when answers are scored; False: none).
    """
    modes = tuple(dict.fromkeys(("hybrid", *modes)))  # hybrid always, first
    for m in modes:
        if m not in MODES:
            raise ConsensusChatError(f"mode must be one of {', '.join(MODES)} or all, not {m!r}.")
    questions_path = Path(questions_path) if questions_path is not None else DEFAULT_QUESTIONS
    questions = load_questions(questions_path)
    config, retriever = _open(target)
    sections = retriever.sections()
    questions = resolve(questions, sections, questions_path)
    from .formats import load_factory

    others = {spec: load_factory(spec) for spec in retrievers}  # a bad spec fails now, not after the run
    in_scope = [q for q in questions if q.kind == "in_scope"]
    out_scope = [q for q in questions if q.kind == "out_of_scope"]
    say = progress or (lambda msg: None)

    # Retrieval, per mode. One warm-up call first so model and caches are hot for the timings.
    retriever.search(questions[0].question, k=RANK_DEPTH)
    results: dict[str, dict[str, object]] = {m: {} for m in modes}
    search_ms: list[float] = []
    for m in modes:
        say(f"searching ({m})")
        for q in questions:
            result, ms = _timed(retriever.search, q.question, k=RANK_DEPTH, mode=m)
            results[m][q.id] = result
            if m == "hybrid":
                search_ms.append(ms)
    rankings = {m: {q.id: [h.id for h in results[m][q.id].hits] for q in questions} for m in modes}
    qrels = {q.id: set(q.relevant_ids) for q in in_scope}

    report: dict = {"n": len(questions), "modes": {}}
    for m in modes:
        report["modes"][m] = {k: _r(v) for k, v in retrieval_scores(rankings[m], qrels).items()}

    hybrid = results["hybrid"]
    say("scope, out of sample")
    from .scope_eval import out_of_sample

    decided = out_of_sample(retriever, questions, questions_path, k=RANK_DEPTH)
    refused_oos = [not decided.in_scope[q.id] for q in out_scope]
    refused_in = [not decided.in_scope[q.id] for q in in_scope]
    report["out_of_scope"] = {
        "refusal_rate": _r(mean(refused_oos)),
        "false_refusal_rate": _r(mean(refused_in)),
        "refusal_accuracy": _r(refusal_accuracy(mean(refused_oos), mean(refused_in), len(out_scope), len(in_scope))),
        "n_in": len(in_scope),
        "n_out": len(out_scope),
        "estimate": decided.estimate,
        "rule": decided.rule,
        "in_sample": {"refusal_rate": _r(mean(not hybrid[q.id].in_scope for q in out_scope)),
                      "false_refusal_rate": _r(mean(not hybrid[q.id].in_scope for q in in_scope))},
        "slices": _slices(questions, decided.in_scope, rankings["hybrid"]),
    }

    # Answers from the assistant.
    answer_rows: dict[str, dict] = {}
    answer_ms: list[float] = []
    if answers:
        say("answering")
        if assistant is None:
            from app import open_assistant

            if config is None:
                raise ConsensusChatError("Scoring answers needs a Config (pass one to run(), not a bare Retriever).")
            assistant = open_assistant(config=config)
        document = document_text(config, retriever, sections)
        assistant.answer(questions[0].question)  # warm-up
        for q in questions:
            retriever.embedder.clear_cache()  # time the answer as a new question, not a cached one
            answer, ms = _timed(assistant.answer, q.question)
            answer_ms.append(ms)
            answer_rows[q.id] = score_answer(answer, q.relevant_titles, document)
        report["answers"] = answer_scores([answer_rows[q.id] for q in in_scope],
                                          [answer_rows[q.id] for q in out_scope])
        for tag, row in report["out_of_scope"]["slices"].items():
            tagged = [q for q in in_scope if q.slice == tag]
            if tagged:  # the answer's first citation, as a user reads it
                row["first_citation_relevant"] = _r(mean(
                    bool(answer_rows[q.id]["cited"]) and answer_rows[q.id]["cited"][0] in q.relevant_titles
                    for q in tagged))
        if conversations is not False:
            say("conversations")
            from .conversations import load_conversations, score_conversations

            report["conversations"] = score_conversations(assistant, load_conversations(conversations or None))
    else:
        report["answers"] = {"citation_precision": None, "citation_recall": None, "verbatim_rate": None}

    report["latency_ms"] = {
        "search_p50": _r(percentile(search_ms, 50), 2), "search_p95": _r(percentile(search_ms, 95), 2),
        "answer_p50": _r(percentile(answer_ms, 50), 2), "answer_p95": _r(percentile(answer_ms, 95), 2),
        "search_k": RANK_DEPTH, "n_search": len(search_ms), "n_answer": len(answer_ms),
    }

    base_rank: dict[str, list[str]] = {}
    runs = {m: rankings[m] for m in modes}
    manifest = retriever.manifest if hasattr(retriever, "manifest") else None
    if baseline:
        say("building the llama-index baseline")
        from .baseline import build_baseline, corpus_paths

        b = build_baseline(corpus_paths(manifest, getattr(config, "index_dir", None)), retriever.embedder, sections)
        id_of = {s.title: s.id for s in sections}
        order = {s.id: n for n, s in enumerate(sections)}
        base_rank = {q.id: sections_ranking(sorted((id_of[t] for t in chunk), key=order.get)
                                            for chunk in b.search(q.question, k=RANK_DEPTH))[:RANK_DEPTH]
                     for q in in_scope}
        runs["baseline"] = base_rank
        report["baseline"] = {
            **{k: _r(v) for k, v in retrieval_scores(base_rank, qrels).items()},
            "pipeline": f"SimpleDirectoryReader + SentenceSplitter(chunk_size={b.chunk_size}, "
                        f"chunk_overlap={b.chunk_overlap}) + VectorStoreIndex(SimpleVectorStore), dense top-{RANK_DEPTH}",
            "chunks": b.n_chunks,
        }
    if others:
        from .external import score_retrievers

        report["external"], external_runs = score_retrievers(
            others, in_scope, qrels, sections, corpus_text=_corpus_text(config, manifest), depth=RANK_DEPTH,
            progress=say)
        runs.update(external_runs)
    if trec_out is not None:
        from .formats import write_trec

        report["trec_files"] = [str(p) for p in write_trec(trec_out, runs, qrels)]

    report["questions"] = [
        _trace(q, hybrid[q.id], {m: first_relevant_rank(rankings[m][q.id], q.relevant_ids) for m in modes},
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


def _slices(questions, in_scope: dict, ranking: dict) -> dict:
    """Out-of-sample scope rates per tagged slice of the question set."""
    out: dict[str, dict] = {}
    for tag in sorted({q.slice for q in questions if q.slice}):
        qs = [q for q in questions if q.slice == tag]
        outs = [q for q in qs if q.kind == "out_of_scope"]
        ins = [q for q in qs if q.kind == "in_scope"]
        row: dict = {"n": len(qs)}
        if outs:
            row["refusal_rate"] = _r(mean(not in_scope[q.id] for q in outs))
        if ins:
            row["false_refusal_rate"] = _r(mean(not in_scope[q.id] for q in ins))
            row["first_hit_relevant"] = _r(mean(in_scope[q.id] and first_relevant_rank(ranking[q.id], q.relevant_ids) == 1
                                                for q in ins))
        out[tag] = row
    return out


def refusal_accuracy(refusal_rate, false_refusal_rate, n_out: int, n_in: int) -> float | None:
    """Share of all questions whose in/out-of-scope call was right."""
    if n_out + n_in == 0:
        return None
    right = (refusal_rate or 0.0) * n_out + (1.0 - (false_refusal_rate or 0.0)) * n_in
    return right / (n_out + n_in)


def _corpus_text(config, manifest) -> str:
    """The raw corpus text, for telling which sections another retriever's chunks hold."""
    from .baseline import corpus_paths

    paths = corpus_paths(manifest, getattr(config, "index_dir", None))
    return "\n".join(Path(p).read_text(encoding="utf-8-sig") for p in paths)


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


# -- the CI gate -----------------------------------------------------------------------------------

def load_thresholds(path: Path | str | None = None) -> dict:
    """thresholds.json: {"min": {"dotted.metric": value}, "max": {...}}."""
    path = Path(path) if path is not None else THRESHOLDS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ThresholdError(f"{path}: not found.") from None
    except ValueError as exc:
        raise ThresholdError(f"{path}: not valid JSON ({exc}).") from None


def metric(report: dict, dotted: str):
    """report['modes']['hybrid']['hit@1'] for 'modes.hybrid.hit@1'."""
    node = report
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ThresholdError(f"the report has no metric {dotted!r}.")
        node = node[part]
    return node


def gate(report: dict, thresholds: dict) -> list[str]:
    """Every gated metric that misses its threshold, as readable lines (empty when all pass)."""
    problems = []
    for name, floor in thresholds.get("min", {}).items():
        value = metric(report, name)
        if value is None or value < floor:
            problems.append(f"{name} = {value} < minimum {floor}")
    for name, ceiling in thresholds.get("max", {}).items():
        value = metric(report, name)
        if value is None or value > ceiling:
            problems.append(f"{name} = {value} > maximum {ceiling}")
    return problems


# -- the CLI entry point ---------------------------------------------------------------------------

REQUIRED_KEYS = ("n", "modes", "out_of_scope", "answers", "latency_ms", "questions")


def main(config, questions: Path | None = None, mode: str = "all", as_json: bool = False,
         out: Path | None = None, baseline: bool = True, retrievers=(), trec_out: Path | None = None,
         conversations: Path | None = None) -> dict:
    """Run the eval for `consensus-chat eval`: print JSON or tables, optionally write report.md + modes.png."""
    import sys

    modes = MODES if mode == "all" else (mode,)
    progress = None
    if not as_json and sys.stderr.isatty():
        from rich.console import Console

        err = Console(stderr=True)
        progress = lambda msg: err.print(f"[dim]{msg}...[/dim]")  # noqa: E731
    report = run(config, questions, modes, baseline=baseline, progress=progress, retrievers=retrievers,
                 trec_out=trec_out, conversations=conversations)
    if out is not None:
        from .report import write_chart, write_markdown

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_markdown(report, out / "report.md")
        write_chart(report, out / "modes.png")
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        from .report import print_tables

        print_tables(report)
        if out is not None:
            print(f"Wrote {out / 'report.md'} and {out / 'modes.png'}")
        if trec_out is not None:
            print(f"Wrote TREC qrels and runs to {trec_out}")
    return report
