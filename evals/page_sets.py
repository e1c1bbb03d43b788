"""Pages scored apart: each page of a pages file ingested into its own temporary index and asked its questions there.

A pages file (`evals/pages/pages.json`, `evals/blind/pages.json`) is a JSON list of
`{"corpus": ..., "questions": ...}` pairs, paths from the repository root. `PageIndexes` builds one
index per corpus (one embedder shared) and opens its retriever and assistant on demand.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from consensus_chat.ingest.errors import ConsensusChatError

from .files import read_json

ROOT = Path(__file__).resolve().parent.parent
DEV_PAGES = ROOT / "evals" / "pages" / "pages.json"
SHIPPED_CORPUS = "corpus/interpretability-singapore-consensus.txt"


class PagesFileError(ConsensusChatError):
    """A pages file is missing, malformed, or names a file that does not exist."""


def load_pages(path: Path | str, root: Path = ROOT) -> list[dict]:
    """The {"corpus", "questions"} entries of a pages file, both paths checked to exist under `root`."""
    path = Path(path)
    pages = read_json(path, PagesFileError)
    if not isinstance(pages, list) or not pages:
        raise PagesFileError(f"{path}: expected a non-empty JSON list of {{\"corpus\", \"questions\"}} objects.")
    for n, page in enumerate(pages, 1):
        if not isinstance(page, dict) or not all(isinstance(page.get(k), str) for k in ("corpus", "questions")):
            raise PagesFileError(f"{path.name} entry {n}: needs string 'corpus' and 'questions' paths.")
        for key in ("corpus", "questions"):
            if not (root / page[key]).is_file():
                raise PagesFileError(f"{path.name} entry {n}: {key} file {page[key]!r} does not exist.")
    return pages


class PageIndexes:
    """One temporary index per corpus, built when first asked for; a context manager that removes them all."""

    def __init__(self, config, root: Path = ROOT, progress=None):
        self.base = config
        self.root = root
        self.say = progress or (lambda msg: None)
        self._tmp = tempfile.TemporaryDirectory(prefix="consensus-chat-pages-")
        self._configs: dict[str, object] = {}
        self._retrievers: dict[str, object] = {}
        self._assistants: dict[str, object] = {}
        self._embedder = None

    def __enter__(self) -> PageIndexes:
        return self

    def __exit__(self, *exc) -> None:
        self._tmp.cleanup()

    def config(self, corpus: str):
        """The Config of the corpus's own index (ingested on first use); same model and backend as the eval's."""
        if corpus not in self._configs:
            from consensus_chat.ingest.embedder import load_embedder
            from consensus_chat.ingest.pipeline import ingest

            path = self.root / corpus
            if not path.is_file():
                raise PagesFileError(f"corpus {corpus!r} does not exist (paths are from the repository root).")
            self.say(f"ingesting {corpus}")
            # A local index per page, whatever Chroma server the eval's own index uses.
            config = self.base.with_(index_dir=Path(self._tmp.name) / str(len(self._configs)),
                                     chroma_host=None, chroma_port=None)
            if self._embedder is None:
                self._embedder = load_embedder(config.model)
            ingest([path], config, embedder=self._embedder, quiet=True)
            self._configs[corpus] = config
        return self._configs[corpus]

    def retriever(self, corpus: str):
        """The corpus's retriever."""
        if corpus not in self._retrievers:
            from consensus_chat.retriever import open_retriever

            self._retrievers[corpus] = open_retriever(config=self.config(corpus))
        return self._retrievers[corpus]

    def questions(self, page: dict):
        """(retriever, questions) of a pages-file entry, the questions checked against the page's own index."""
        from .questions import load_questions, with_section_ids

        retriever = self.retriever(page["corpus"])
        path = self.root / page["questions"]
        return retriever, with_section_ids(load_questions(path), retriever.sections(), path)

    def assistant(self, corpus: str):
        """The corpus's assistant (over the same retriever)."""
        if corpus not in self._assistants:
            from consensus_chat.app.assistant import Assistant

            self._assistants[corpus] = Assistant(self.retriever(corpus), self.config(corpus))
        return self._assistants[corpus]


def page_samples(indexes: PageIndexes, page: dict) -> tuple[list, float | None]:
    """A pages-file entry's evidence samples (`scope_fit.collect`), gathered in its own index, and its page's level
    (ingest/page_level.py). Each sample's features are read while the index is open."""
    from consensus_chat.ingest.page_level import page_level

    from .scope_fit import collect

    retriever, questions = indexes.questions(page)
    samples = collect(retriever, questions)
    for sample in samples:
        sample.features  # noqa: B018 - the pull is read now, with the page's index at hand
    return samples, page_level(retriever.manifest)


def search_questions(retriever, questions, depth: int = 10, assistant=None, results: dict | None = None) -> list[dict]:
    """Each question searched (and, with an assistant, each in-scope question answered): one row per question.

    `results`, when given, receives each search result by question id (their evidence records feed the scope fit)."""
    rows = []
    for q in questions:
        result = retriever.search(q.question, k=depth)
        if results is not None:
            results[q.id] = result
        row = {"id": q.id, "kind": q.kind, "slice": q.slice, "in_scope": bool(result.in_scope),
               "ranking": [h.id for h in result.hits], "relevant_ids": list(q.relevant_ids),
               "relevant_titles": list(q.relevant_titles)}
        if assistant is not None and q.kind == "in_scope":
            answer = assistant.answer(q.question)
            row["first_cited"] = answer.citations[0].title if answer.citations else None
        rows.append(row)
    return rows


def summary(rows: list[dict]) -> dict:
    """hit@1 and MRR over the in-scope rows, and the share of each kind the search refused."""
    from .metrics import mean, retrieval_scores, rounded

    ins = [r for r in rows if r["kind"] == "in_scope"]
    outs = [r for r in rows if r["kind"] == "out_of_scope"]
    # Keys by position: two pages may reuse an id.
    scores = retrieval_scores({str(n): r["ranking"] for n, r in enumerate(rows) if r["kind"] == "in_scope"},
                              {str(n): r["relevant_ids"] for n, r in enumerate(rows) if r["kind"] == "in_scope"})
    out = {"n_in": len(ins), "n_out": len(outs), "hit@1": rounded(scores["hit@1"]), "mrr": rounded(scores["mrr"]),
           "refusal_rate": rounded(mean(not r["in_scope"] for r in outs)),
           "false_refusal_rate": rounded(mean(not r["in_scope"] for r in ins))}
    answered = [r for r in ins if "first_cited" in r]
    if answered:
        out["first_citation_relevant"] = rounded(mean(r["first_cited"] in r["relevant_titles"] for r in answered))
    return out


def by_slice(rows: list[dict]) -> dict[str, dict]:
    """`summary` of each tagged slice."""
    return {tag: summary([r for r in rows if r["slice"] == tag]) for tag in sorted({r["slice"] for r in rows} - {""})}


def score_dev_pages(config, pages_file: Path | str = DEV_PAGES, root: Path = ROOT, progress=None) -> dict:
    """The development pages: hit@1/MRR per page, and scope rates from the rule fitted on the other pages
    (with the default rule's features: what a page without its own calibration gets)."""
    from consensus_chat.retriever.scope import DEFAULT

    from consensus_chat.ingest.page_level import page_level

    from .metrics import rounded
    from .scope_fit import collect, grids, leave_one_page_out

    pages = load_pages(pages_file, root)
    groups, rows, levels = {}, {}, {}
    with PageIndexes(config, root, progress) as indexes:
        for page in pages:
            retriever, questions = indexes.questions(page)
            results: dict = {}
            rows[page["corpus"]] = search_questions(retriever, questions, results=results)
            groups[page["corpus"]] = collect(retriever, questions, results)  # the searches' own evidence
            levels[page["corpus"]] = page_level(retriever.manifest)
    # Leave one page out: a rule fitted on the other pages judges each (page-relative when DEFAULT is).
    judged = leave_one_page_out(groups, **grids(DEFAULT), levels=levels if DEFAULT.level_range else None) \
        if len(groups) > 1 else {}
    out = {}
    for corpus in groups:
        row = summary(rows[corpus])
        if corpus in judged:
            j = judged[corpus]
            row.update(refusal_rate=rounded(j["refusal_rate"]), false_refusal_rate=rounded(j["false_refusal_rate"]),
                       rule={k: j[k] for k in ("coverage_weight", "pull_weight", "rarest_weight", "name_weight",
                                                               "threshold", "level")})
        row["kind"] = "other pages" if corpus in judged else "in sample"
        out[corpus] = row
    return {"pages_file": str(pages_file), "pages": out}
