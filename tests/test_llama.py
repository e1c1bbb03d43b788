"""The llama-index adapter: one score scale, the scope signal, stable ids, and llama-index's own tools on top."""

from __future__ import annotations

import dataclasses
import math

import pytest
from llama_index.core.evaluation import RetrieverEvaluator
from llama_index.core.llms import MockLLM
from llama_index.core.postprocessor import SimilarityPostprocessor
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers import get_response_synthesizer
from llama_index.core.schema import NodeRelationship

from consensus_chat.evals.runner import DEFAULT_QUESTIONS, load_questions

OFF_TOPIC = "sourdough bread recipe"
PARAPHRASE = "How can we tell whether a model's stated reasoning matches what it really did?"
CUTOFF = 0.3  # a cosine cutoff of the kind used with llama-index vector retrievers


@pytest.fixture(scope="module")
def li(retriever):
    return retriever.as_llama_index(k=5)


@pytest.fixture(scope="module")
def in_scope_questions(retriever):
    """(question, expected section ids) for every in-scope question of the shipped set."""
    ids_by_title: dict[str, list[str]] = {}
    for s in retriever.sections():
        ids_by_title.setdefault(s.title, []).append(s.id)
    return [(q.question, [i for t in q.relevant_titles for i in ids_by_title[t]])
            for q in load_questions(DEFAULT_QUESTIONS) if q.kind == "in_scope"]


@pytest.mark.parametrize("question", [PARAPHRASE, "3.2.1", "Which sections cite Hobbhahn?", "Risk Assessment",
                                      "Secure evaluation infrastructure"])
def test_scores_are_dense_cosines_in_unit_range_in_hybrid_order(retriever, li, question):
    nodes = li.retrieve(question)
    result = retriever.search(question, k=5)
    assert [n.node.node_id for n in nodes] == [h.id for h in result.hits]  # the hybrid order is kept
    assert [n.node.metadata["rank"] for n in nodes] == list(range(1, len(nodes) + 1))
    for n, h in zip(nodes, result.hits):
        assert 0.0 <= n.score <= 1.0
        assert n.score == pytest.approx(min(1.0, max(0.0, h.dense_score)))
        assert n.node.metadata["fused_score"] == pytest.approx(h.score)
        assert n.node.metadata["exact"] == (h.matched_by or "")


def test_exact_reasons_go_to_metadata_not_the_score(li):
    nodes = li.retrieve("Which sections cite Hobbhahn?")
    top = nodes[0]
    assert top.node.metadata["exact"] == "source-key" and top.node.metadata["title"] == "Metrology for AI risk assessment"
    assert top.node.metadata["fused_score"] > 1.0  # the tier lives in the fused score...
    assert top.node.metadata["tier"] == 4.0 and all(n.node.metadata["tier"] == 0.0 for n in nodes if not n.node.metadata["exact"])
    assert top.score < 0.5  # ...while the node score stays a cosine: found by name, not by meaning


def test_off_topic_returns_no_nodes_and_says_why(retriever):
    seen = []
    li = retriever.as_llama_index(k=5, on_result=seen.append)
    assert li.retrieve(OFF_TOPIC) == []
    assert li.last_result is not None and li.last_result.in_scope is False
    assert li.last_result.scope_score < retriever.scope_model.threshold
    assert len(seen) == 1 and seen[0] is li.last_result
    assert li.retrieve(PARAPHRASE) and li.last_result.in_scope is True


def test_keep_out_of_scope_marks_the_nodes(retriever):
    nodes = retriever.as_llama_index(k=3, keep_out_of_scope=True).retrieve(OFF_TOPIC)
    assert len(nodes) == 3
    assert all(n.node.metadata["in_scope"] is False for n in nodes)
    assert all(n.score < CUTOFF for n in nodes)  # unrelated sections: low cosines


def test_nodes_carry_ref_doc_id_and_stable_ids(config, retriever, li):
    from consensus_chat.retriever import open_retriever

    nodes = li.retrieve(PARAPHRASE)
    for n in nodes:
        assert n.node.ref_doc_id == "interpretability-singapore-consensus.txt"
        assert n.node.relationships[NodeRelationship.SOURCE].node_id == n.node.metadata["source_file"]
        assert n.node.node_id == n.node.metadata["section_id"]
    again = open_retriever(config.index_dir).as_llama_index(k=5).retrieve(PARAPHRASE)
    assert [n.node.node_id for n in again] == [n.node.node_id for n in nodes]
    assert nodes[0].node.node_id == "llm-chain-of-thought-faithfulness-and-legibility"


def test_metadata_for_scoring_stays_out_of_the_prompt(li):
    node = li.retrieve(PARAPHRASE)[0].node
    prompt_text = node.get_content(metadata_mode="llm")
    assert node.metadata["title"] in prompt_text
    for key in ("fused_score", "scope_score", "in_scope", "rank", "source_file"):
        assert key not in prompt_text


def test_a_hit_without_a_dense_score_gets_a_computed_cosine(retriever):
    """On a large index a BM25-only hit has no dense score; the adapter embeds it rather than guessing."""

    class LexicalOnly:
        embedder = retriever.embedder

        def search(self, query, k=5, **options):
            result = retriever.search(query, k=k, **options)
            hits = [dataclasses.replace(h, dense_score=None) for h in result.hits]
            return dataclasses.replace(result, hits=hits)

    from consensus_chat.retriever.llama import LlamaIndexRetriever

    nodes = LlamaIndexRetriever(LexicalOnly(), k=3).retrieve(PARAPHRASE)
    exact = {h.id: h.dense_score for h in retriever.search(PARAPHRASE, k=3).hits}
    for n in nodes:
        assert 0.0 <= n.score <= 1.0
        # Embedding heading + text in one piece is close to, not equal to, the best chunk's cosine.
        assert n.score == pytest.approx(exact[n.node.node_id], abs=0.15)


def test_retriever_evaluator_agrees_with_our_hit_rate(retriever, in_scope_questions):
    li = retriever.as_llama_index(k=5, keep_out_of_scope=True)
    evaluator = RetrieverEvaluator.from_metric_names(["hit_rate", "mrr"], retriever=li)
    results = [evaluator.evaluate(query=q, expected_ids=ids) for q, ids in in_scope_questions]
    hit_rate = sum(r.metric_vals_dict["hit_rate"] for r in results) / len(results)
    mrr = sum(r.metric_vals_dict["mrr"] for r in results) / len(results)
    ours = [[h.id for h in retriever.search(q, k=5).hits] for q, _ in in_scope_questions]
    our_hits = sum(any(i in ids for i in ranked) for ranked, (_, ids) in zip(ours, in_scope_questions))
    assert hit_rate == pytest.approx(our_hits / len(ours))
    assert hit_rate >= 0.9 and mrr >= 0.85


def test_similarity_cutoff_trims_by_cosine_and_keeps_the_answer(retriever, in_scope_questions):
    cutoff = CUTOFF
    li = retriever.as_llama_index(k=5)
    post = SimilarityPostprocessor(similarity_cutoff=cutoff)
    nodes = li.retrieve(PARAPHRASE)
    kept = post.postprocess_nodes(nodes)
    assert 0 < len(kept) < len(nodes)
    assert all(n.score >= cutoff for n in kept)
    assert kept[0].node.node_id == "llm-chain-of-thought-faithfulness-and-legibility"
    # Through the evaluator: a cutoff never raises the hit rate and still finds most answers.
    evaluator = RetrieverEvaluator.from_metric_names(["hit_rate"], retriever=li, node_postprocessors=[post])
    plain = RetrieverEvaluator.from_metric_names(["hit_rate"], retriever=li)
    cut_rate, plain_rate = [], []
    for q, ids in in_scope_questions:
        if not li.retrieve(q):
            continue  # refused as out of scope: the metrics need at least one node
        plain_rate.append(plain.evaluate(query=q, expected_ids=ids).metric_vals_dict["hit_rate"])
        try:
            cut_rate.append(evaluator.evaluate(query=q, expected_ids=ids).metric_vals_dict["hit_rate"])
        except ValueError:  # every node fell below the cutoff: llama-index refuses to score an empty list
            cut_rate.append(0.0)
    assert sum(cut_rate) <= sum(plain_rate)
    assert sum(cut_rate) / len(cut_rate) >= 0.5


def test_query_engine_over_mock_llm(retriever):
    li = retriever.as_llama_index(k=3)
    engine = RetrieverQueryEngine(retriever=li, response_synthesizer=get_response_synthesizer(llm=MockLLM()))
    response = engine.query(PARAPHRASE)
    assert [n.node.node_id for n in response.source_nodes][0] == "llm-chain-of-thought-faithfulness-and-legibility"
    # MockLLM echoes its prompt: the section text reached it, the scoring metadata did not.
    assert "chain-of-thought" in str(response).lower() and "fused_score" not in str(response)
    off = engine.query(OFF_TOPIC)
    assert off.source_nodes == [] and str(off) == "Empty Response"
    assert li.last_result.in_scope is False


def test_llama_index_chroma_vector_store_reads_the_index_ingest_wrote(config, retriever):
    """Ingest writes Chroma records directly (no llama-index import); llama-index's ChromaVectorStore still reads
    them: nodes with our ids, texts and metadata, ranked as our dense search ranks them."""
    from llama_index.core.vector_stores.types import VectorStoreQuery
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from consensus_chat.ingest.store import open_store

    store = open_store(config)
    _, collection = store.open_current()
    try:
        vector = retriever.embedder.encode_one("What is metrology?")
        found = ChromaVectorStore(chroma_collection=collection).query(
            VectorStoreQuery(query_embedding=vector.tolist(), similarity_top_k=3))
    finally:
        store.close(collection)
    top = found.nodes[0]
    assert top.node_id == "risk-assessment--metrology-for-ai-risk-assessment#0"
    assert top.metadata["title"] == "Metrology for AI risk assessment" and top.text.startswith("Metrology")
    ours = retriever._current().dense.best(vector, 3)  # section id -> best chunk cosine
    assert max(ours, key=ours.get) == top.metadata["section_id"]
    # llama-index reports exp(-distance) for Chroma results; distance is 1 - cosine in our cosine space.
    assert found.similarities[0] == pytest.approx(math.exp(ours[top.metadata["section_id"]] - 1.0), abs=1e-5)
