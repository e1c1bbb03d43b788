"""The field's formats: BEIR-style datasets in, TREC run and qrels files out, any llama-index retriever.

A BEIR-style dataset is a directory holding `queries.jsonl` (one `{"_id": ..., "text": ...}` per line)
and `qrels/test.tsv` (a `query-id  corpus-id  score` header, then tab-separated rows) whose corpus ids
are our section ids (`consensus-chat sections --json`). A query with a positive qrel is in scope; a
query with none is out of scope (the refusal metrics use it).
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

from consensus_chat.ingest.errors import ConsensusChatError
from consensus_chat.ingest.jsonl import split_lines

from .files import json_line


class DatasetError(ConsensusChatError):
    """A BEIR-style dataset directory is incomplete or malformed."""


class RetrieverFactoryError(ConsensusChatError):
    """`--retriever module:factory` does not name a callable that returns a llama-index BaseRetriever."""


def is_beir(path: Path) -> bool:
    """A directory is read as a BEIR-style dataset."""
    return Path(path).is_dir()


def load_beir(path: Path) -> list[dict]:
    """Rows {id, question, relevant_ids, kind, line} from queries.jsonl and qrels/test.tsv."""
    path = Path(path)
    queries_file, qrels_file = path / "queries.jsonl", path / "qrels" / "test.tsv"
    for needed in (queries_file, qrels_file):
        if not needed.is_file():
            raise DatasetError(f"{path}: a BEIR-style dataset needs {needed.relative_to(path)} "
                               "(queries.jsonl and qrels/test.tsv).")
    relevant: dict[str, list[str]] = {}
    for n, line in enumerate(qrels_file.read_text(encoding="utf-8-sig").splitlines(), 1):
        cells = line.split("\t")
        if not line.strip() or (n == 1 and cells[0] == "query-id"):
            continue
        if len(cells) != 3:
            raise DatasetError(f"qrels/test.tsv line {n}: expected 3 tab-separated columns "
                               f"(query-id, corpus-id, score), got {len(cells)}.")
        try:
            score = int(cells[2])
        except ValueError as exc:
            raise DatasetError(f"qrels/test.tsv line {n}: score {cells[2]!r} is not an integer.") from exc
        if score > 0:
            relevant.setdefault(cells[0], []).append(cells[1])
    rows, seen = [], set()
    for n, line in enumerate(split_lines(queries_file.read_text(encoding="utf-8-sig")), 1):
        if not line.strip():
            continue
        obj = json_line(line, f"queries.jsonl line {n}", DatasetError)
        if not isinstance(obj, dict) or not isinstance(obj.get("_id"), str) or not isinstance(obj.get("text"), str) \
                or not obj["text"].strip():
            raise DatasetError(f"queries.jsonl line {n}: expected an object with string '_id' and 'text'.")
        if obj["_id"] in seen:
            raise DatasetError(f"queries.jsonl line {n}: duplicate _id {obj['_id']!r}.")
        seen.add(obj["_id"])
        ids = tuple(relevant.get(obj["_id"], ()))
        rows.append({"id": obj["_id"], "question": obj["text"], "relevant_ids": ids,
                     "kind": "in_scope" if ids else "out_of_scope", "line": n})
    unknown = sorted(set(relevant) - seen)
    if unknown:
        raise DatasetError(f"qrels/test.tsv names query {unknown[0]!r}, which queries.jsonl does not hold.")
    if not rows:
        raise DatasetError(f"{queries_file}: holds no queries.")
    return rows


def write_beir(path: Path, questions, sections) -> None:
    """Write questions (with relevant titles) as a BEIR-style dataset over our section ids."""
    path = Path(path)
    (path / "qrels").mkdir(parents=True, exist_ok=True)
    by_title = {}
    for s in sections:
        by_title.setdefault(s.title, []).append(s.id)
    with open(path / "queries.jsonl", "w", encoding="utf-8") as f:
        for q in questions:
            f.write(json.dumps({"_id": q.id, "text": q.question}, ensure_ascii=False) + "\n")
    with open(path / "qrels" / "test.tsv", "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q in questions:
            for sid in q.relevant_ids or [i for t in q.relevant_titles for i in by_title.get(t, ())]:
                f.write(f"{q.id}\t{sid}\t1\n")


def write_trec(out: Path, runs: dict[str, dict[str, list[str]]], qrels: dict[str, set[str]]) -> list[Path]:
    """`qrels.txt` and one `run.<name>.txt` per ranking, in trec_eval's formats; returns the paths."""
    from .metrics import as_trec

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "qrels.txt"]
    with open(written[0], "w", encoding="utf-8") as f:
        for qid, docs in qrels.items():
            for doc in sorted(docs):
                f.write(f"{qid} 0 {doc} 1\n")
    for name, run in runs.items():
        trec_run, _ = as_trec(run, {})
        path = out / f"run.{_safe(name)}.txt"
        with open(path, "w", encoding="utf-8") as f:
            for qid, docs in trec_run.items():
                for rank, (doc, score) in enumerate(docs.items(), 1):
                    f.write(f"{qid} Q0 {doc} {rank} {score:g} {_safe(name)}\n")
        written.append(path)
    return written


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)


def load_factory(spec: str):
    """The BaseRetriever that `module:factory` returns (or names, if it is one already)."""
    from llama_index.core.base.base_retriever import BaseRetriever

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise RetrieverFactoryError(f"--retriever {spec!r}: write it as module:factory, e.g. mypkg.rag:make_retriever.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RetrieverFactoryError(f"--retriever {spec!r}: cannot import {module_name!r} ({exc}). "
                                    "Is it on PYTHONPATH?") from exc
    target = getattr(module, attr, None)
    if target is None:
        raise RetrieverFactoryError(f"--retriever {spec!r}: {module_name} has no attribute {attr!r}.")
    made = target
    if not isinstance(target, BaseRetriever) and callable(target):
        try:
            inspect.signature(target).bind()  # checks the call without running a factory that may fail inside
        except TypeError as exc:
            raise RetrieverFactoryError(f"--retriever {spec!r}: the factory must be callable with no arguments.") from exc
        except ValueError:
            pass  # no signature to inspect (some builtins): just call it
        made = target()
    if not isinstance(made, BaseRetriever):
        raise RetrieverFactoryError(f"--retriever {spec!r} returned {type(made).__name__}, "
                                    "not a llama_index BaseRetriever.")
    return made


def node_sections(node, section_ids: set[str], ids_in_text) -> list[str]:
    """The section ids a retrieved node stands for: its id or `section_id` metadata, else the anchor rule."""
    meta = getattr(node, "metadata", None) or {}
    if meta.get("section_id") in section_ids:
        return [meta["section_id"]]
    if node.node_id in section_ids:
        return [node.node_id]
    return ids_in_text(node.get_content())
