"""The question-file format: a JSONL question set (or a BEIR-style directory) read, checked and resolved.

One JSON object per line: `{"id", "question", "relevant_titles", "relevant_codes", "kind", "slice"?}`;
`kind` is in_scope or out_of_scope. The runner, the scope fit and calibration all read questions here,
so none of them imports another to learn the format.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from consensus_chat.ingest.errors import ConsensusChatError
from consensus_chat.ingest.jsonl import split_lines

from .files import json_line, read_text

DEFAULT_QUESTIONS = Path(__file__).resolve().parent / "questions.jsonl"
KINDS = ("in_scope", "out_of_scope")


class QuestionFileError(ConsensusChatError):
    """The question file is missing or has a malformed line."""


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


def load_questions(path: Path | str | None = None) -> list[Question]:
    """Read and validate a JSONL question file or a BEIR-style directory; a bad line raises with its number."""
    path = Path(path) if path is not None else DEFAULT_QUESTIONS
    from .formats import is_beir, load_beir

    if is_beir(path):
        return [Question(r["id"], r["question"], (), (), r["kind"], r["line"], r["relevant_ids"])
                for r in load_beir(path)]
    raw = read_text(path, QuestionFileError, missing="file not found. Pass an existing JSONL file with --questions.",
                    undecodable="not valid UTF-8. Save the question file as UTF-8.")
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
    obj = json_line(line, where, QuestionFileError)
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


def with_section_ids(questions: list[Question], sections, path: Path) -> list[Question]:
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
