"""Score any llama-index BaseRetriever on the same questions as ours (`eval --retriever module:factory`).

Each retrieved node is mapped to the section(s) it stands for: its `section_id` metadata or its
node id when that is a section id (our own adapter), else the sections whose text it holds by the
baseline's anchor rule (evals/baseline.py). The nodes then become one section ranking (MaxP, see
`metrics.sections_ranking`) scored exactly like our modes.
"""

from __future__ import annotations

from pathlib import Path

from .baseline import corpus_paths, section_anchors, titles_in
from .formats import node_sections
from .metrics import retrieval_scores, rounded, sections_ranking


def score_retrievers(retrievers: dict, questions, qrels, sections, *, corpus_text: str, depth: int, progress=None):
    """({spec: scores}, {spec: run}) for each loaded `module:factory` spec -> BaseRetriever."""
    say = progress or (lambda msg: None)
    anchors = section_anchors(sections, corpus_text)
    ids = {s.id for s in sections}
    id_of = {s.title: s.id for s in sections}
    order = {s.id: n for n, s in enumerate(sections)}

    def ids_in_text(text: str) -> list[str]:
        return sorted((id_of[t] for t in titles_in(text, anchors)), key=order.get)

    scores, runs = {}, {}
    for spec, retriever in retrievers.items():
        say(f"scoring {spec}")
        run = {}
        for q in questions:
            nodes = retriever.retrieve(q.question)
            run[q.id] = sections_ranking(node_sections(n.node, ids, ids_in_text) for n in nodes)[:depth]
        runs[spec] = run
        scores[spec] = {k: rounded(v) for k, v in retrieval_scores(run, qrels).items()}
        scores[spec]["pipeline"] = f"{type(retriever).__module__}.{type(retriever).__name__}"
    return scores, runs


def corpus_text(config, retriever) -> str:
    """The raw corpus text, for telling which sections another retriever's chunks hold."""
    paths = corpus_paths(getattr(retriever, "manifest", None), getattr(config, "index_dir", None))
    return "\n".join(Path(p).read_text(encoding="utf-8-sig") for p in paths)
