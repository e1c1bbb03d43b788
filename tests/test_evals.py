"""The eval: metric arithmetic, the question-file format, the field's formats, the CI gate, calibration, the CLI."""

from __future__ import annotations

import json
import math
import subprocess

import numpy as np
import pytest

import reference_metrics as reference
from consensus_chat.evals import metrics
from consensus_chat.evals.baseline import section_anchors
from consensus_chat.evals.scope_fit import fit, leave_one_out, rates
from consensus_chat.evals.runner import (
    DEFAULT_QUESTIONS,
    REQUIRED_KEYS,
    QuestionFileError,
    answer_scores,
    answer_sentences,
    check_titles,
    gate,
    is_verbatim,
    load_questions,
    load_thresholds,
    collapse_whitespace,
    run,
)

from conftest import CLI, DATA, build_index

RETRIEVAL_KEYS = {"hit@1", "hit@3", "hit@5", "mrr", "ndcg@5", "recall@5"}


# -- metrics: the hand-written oracle, then the library ----------------------------------------

def test_hit_and_mrr_use_the_first_relevant_rank():
    ranked = [{"a"}, {"b"}, {"c"}]
    assert reference.first_relevant_rank(ranked, ["c", "z"]) == 3
    assert reference.hit_at_k(ranked, ["c"], 1) == 0.0
    assert reference.hit_at_k(ranked, ["c"], 3) == 1.0
    assert reference.reciprocal_rank(ranked, ["b"]) == 0.5
    assert reference.reciprocal_rank(ranked, ["z"]) == 0.0
    assert reference.first_relevant_rank(ranked, ["z"]) is None


def test_ndcg_binary_with_ideal_capped_at_five():
    # One relevant title at rank 2: DCG = 1/log2(3), IDCG = 1.
    assert reference.ndcg_at_k([{"x"}, {"a"}], ["a"]) == pytest.approx(1 / math.log2(3))
    # Two relevant, both on top: perfect.
    assert reference.ndcg_at_k([{"a"}, {"b"}, {"x"}], ["a", "b"]) == pytest.approx(1.0)
    # Seven relevant titles, five found on top: the ideal is capped at five, so still perfect.
    seven = list("abcdefg")
    assert reference.ndcg_at_k([{t} for t in "abcde"], seven) == pytest.approx(1.0)
    # Reversed order of a partial hit list scores less than the sorted one.
    assert reference.ndcg_at_k([{"x"}, {"a"}, {"b"}], ["a", "b"]) < reference.ndcg_at_k([{"a"}, {"b"}, {"x"}], ["a", "b"])


def test_ndcg_does_not_count_a_title_twice():
    # Overlapping baseline chunks can hold the same section; a repeat must not push nDCG over 1.
    assert reference.ndcg_at_k([{"a"}, {"a", "x"}, {"a"}], ["a"]) == pytest.approx(1.0)
    # A chunk holding two relevant titles gains once (binary relevance).
    assert reference.ndcg_at_k([{"a", "b"}], ["a", "b"]) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_recall_at_5_is_the_share_of_relevant_titles_found():
    ranked = [{"a"}, {"x"}, {"y"}, {"z"}, {"w"}, {"b"}]
    assert reference.recall_at_k(ranked, ["a", "b"], 5) == 0.5
    assert reference.recall_at_k([{"a", "b"}], ["a", "b", "c", "d"], 5) == 0.5


def test_percentile_matches_numpy_linear_interpolation():
    values = [12.0, 3.5, 7.25, 100.0, 41.0, 8.0, 9.5]
    for p in (0, 50, 90, 95, 100):
        assert metrics.percentile(values, p) == pytest.approx(float(np.percentile(values, p)))
    assert metrics.percentile([], 50) is None
    with pytest.raises(ValueError):
        metrics.percentile([1.0], 101)


def test_retrieval_scores_average_over_questions():
    scores = reference.retrieval_scores([([{"a"}, {"b"}], ["a"]), ([{"a"}, {"b"}], ["b"])])
    assert set(scores) == RETRIEVAL_KEYS
    assert scores["hit@1"] == 0.5 and scores["mrr"] == 0.75 and scores["hit@3"] == 1.0
    lib = metrics.retrieval_scores({"q1": ["a", "b"], "q2": ["a", "b"]}, {"q1": {"a"}, "q2": {"b"}})
    assert set(lib) == RETRIEVAL_KEYS
    assert lib["hit@1"] == 0.5 and lib["mrr"] == 0.75 and lib["hit@3"] == 1.0


def test_library_scores_an_empty_ranking_zero_and_keeps_our_order():
    # trec_eval would drop q2 (nothing retrieved) from the average; we count it as a miss.
    scores = metrics.retrieval_scores({"q1": ["b", "a"], "q2": []}, {"q1": {"a"}, "q2": {"c"}})
    assert scores["mrr"] == 0.25 and scores["hit@3"] == 0.5
    # Ranked ids are not re-sorted by id when scores would tie: "z" stays first.
    assert metrics.per_query({"q": ["z", "a"]}, {"q": {"z"}})["hit@1"] == {"q": 1.0}
    assert metrics.sections_ranking([["a", "b"], ["b", "c"], ["a"]]) == ["a", "b", "c"]


@pytest.fixture(scope="session")
def rankings(retriever):
    """Per mode, each in-scope question's ranked section ids, and the qrels (relevant ids)."""
    from consensus_chat.evals.runner import with_section_ids

    questions = [q for q in with_section_ids(load_questions(DEFAULT_QUESTIONS), retriever.sections(), DEFAULT_QUESTIONS)
                 if q.kind == "in_scope"]
    runs = {m: {q.id: [h.id for h in retriever.search(q.question, k=10, mode=m).hits] for q in questions}
            for m in ("hybrid", "dense", "lexical")}
    return runs, {q.id: set(q.relevant_ids) for q in questions}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_the_library_gives_the_hand_written_numbers_on_our_set(retriever, rankings, mode):
    runs, qrels = rankings
    title = {s.id: s.title for s in retriever.sections()}
    lib = metrics.retrieval_scores(runs[mode], qrels)
    old = reference.retrieval_scores([([{title[i]} for i in runs[mode][q]], {title[i] for i in qrels[q]})
                                      for q in qrels])
    assert lib == pytest.approx(old, abs=1e-12)
    assert 0.0 < lib["hit@1"] < lib["hit@5"] <= 1.0  # the set discriminates: neither all wrong nor all right


# -- the question file --------------------------------------------------------------------------

GOOD = {"id": "q1", "question": "What is metrology?", "relevant_titles": ["Metrology for AI risk assessment"],
        "relevant_codes": ["3.2.1"], "kind": "in_scope"}
OFF_TOPIC = {"id": "q2", "question": "sourdough bread recipe", "relevant_titles": [], "relevant_codes": [],
             "kind": "out_of_scope"}


def _write(tmp_path, lines) -> object:
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("bad, fragment", [
    ("{not json", "not valid JSON"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "relevant_codes"} | {"id": "q9"}), "relevant_codes"),
    (json.dumps(GOOD | {"id": "q9", "kind": "maybe"}), "kind"),
    (json.dumps(GOOD | {"id": "q9", "relevant_titles": "Metrology for AI risk assessment"}), "list"),
    (json.dumps(GOOD | {"id": "q9", "kind": "out_of_scope"}), "out_of_scope"),
    (json.dumps(GOOD | {"id": "q9", "relevant_titles": []}), "at least one"),
    (json.dumps(GOOD | {"id": "q9", "question": ""}), "question"),
    (json.dumps(["a", "list"]), "JSON object"),
    (json.dumps(GOOD), "duplicate id"),
])
def test_malformed_line_names_its_line_number(tmp_path, bad, fragment):
    # Line 1 good, line 2 blank (allowed), line 3 bad.
    path = _write(tmp_path, [json.dumps(GOOD), "", bad])
    with pytest.raises(QuestionFileError) as exc:
        load_questions(path)
    assert str(exc.value).startswith("questions.jsonl line 3: ")
    assert fragment in str(exc.value)


def test_blank_lines_are_allowed_and_missing_file_is_one_error(tmp_path):
    oos = {"id": "q2", "question": "Recipe for bread?", "relevant_titles": [], "relevant_codes": [],
           "kind": "out_of_scope"}
    got = load_questions(_write(tmp_path, ["", json.dumps(GOOD), "   ", json.dumps(oos), ""]))
    assert [(q.id, q.line, q.kind) for q in got] == [("q1", 2, "in_scope"), ("q2", 4, "out_of_scope")]
    with pytest.raises(QuestionFileError, match="not found"):
        load_questions(tmp_path / "nope.jsonl")


def test_shipped_questions_name_real_sections(retriever):
    questions = load_questions(DEFAULT_QUESTIONS)
    assert {q.kind for q in questions} == {"in_scope", "out_of_scope"}
    check_titles(questions, {s.title for s in retriever.sections()}, DEFAULT_QUESTIONS)


def test_unknown_relevant_title_is_reported_with_its_line(tmp_path, retriever):
    path = _write(tmp_path, [json.dumps(GOOD), json.dumps(GOOD | {"id": "q2", "relevant_titles": ["Nonexistent"]})])
    with pytest.raises(QuestionFileError, match=r"questions.jsonl line 2: relevant title 'Nonexistent'"):
        check_titles(load_questions(path), {s.title for s in retriever.sections()}, path)


# -- answers and the baseline rule ------------------------------------------------------------------

class _C:
    def __init__(self, id, title, sentence):
        self.id, self.title, self.sentence = id, title, sentence


class _A:
    def __init__(self, body, citations, refused=False):
        self.body, self.citations, self.refused = body, citations, refused


def test_answer_sentences_strip_markers_and_bullets():
    a = _A("- First claim here. [1] Second one [2].\nThird [1, 2]", [_C("x", "X", "Quoted.")])
    assert answer_sentences(a) == ["Quoted.", "First claim here.", "Second one.", "Third"]
    document = collapse_whitespace("Intro.\nFirst claim   here. Second one.")
    assert is_verbatim("First claim here.", document)
    assert not is_verbatim("First claim there.", document)


def test_answer_scores_micro_precision_macro_recall():
    rows = [
        {"refused": False, "cited": ["A", "B"], "cited_relevant": 1, "relevant_cited": 1, "n_relevant": 1,
         "verbatim": True, "quotes_verbatim": True},
        {"refused": False, "cited": ["C"], "cited_relevant": 0, "relevant_cited": 0, "n_relevant": 2,
         "verbatim": False, "quotes_verbatim": True},
    ]
    s = answer_scores(rows)
    assert s["citation_precision"] == round(1 / 3, 3)  # micro: 1 relevant of 3 cited
    assert s["citation_recall"] == pytest.approx(0.5)  # macro: (1 + 0) / 2
    assert s["verbatim_rate"] == 0.5 and s["quote_verbatim_rate"] == 1.0
    assert s["answers_citing_relevant"] == 0.5


def test_baseline_chunk_holds_a_section_by_its_text_not_its_title(retriever):
    from consensus_chat.evals.baseline import Baseline

    corpus = "\n".join(s.text for s in retriever.sections())
    b = Baseline(index=None, embed_model=None, anchors=section_anchors(retriever.sections(), corpus),
                 n_chunks=0, chunk_size=0, chunk_overlap=0)
    card = next(s for s in retriever.sections() if s.title == "Secure evaluation infrastructure")
    assert "Secure evaluation infrastructure" in b.titles_in(card.text[:200])
    assert "Secure evaluation infrastructure" in b.titles_in("...end of chunk. " + card.text[-120:])
    assert b.titles_in("Risk Assessment > Secure evaluation infrastructure") == set()


# -- calibration -----------------------------------------------------------------------------------

def Sample(id_, dense, forced, in_scope, coverage=0.0):  # noqa: N802 - reads like the record it builds
    """A calibration sample whose evidence has these features: one topic word (covered or not) and one
    chunk cosine, or (forced) no topic words, only a word about the document (a question of stopwords alone
    names nothing and is refused), so every call goes through the real decision."""
    from consensus_chat.evals.scope_fit import Sample as Record
    from consensus_chat.retriever.evidence import Evidence, Reading, WordEvidence
    from consensus_chat.retriever.topic import Topic

    words = () if forced else (WordEvidence("alpha", coverage >= 1.0, None, 3.0),)
    topic = Topic("q", "q", tuple(w.word for w in words), (), ("section",) if forced else ())
    return Record(id_, in_scope, Evidence("q", topic, words, (), Reading("q", words, {"s": dense})))


def _samples():
    ins = [Sample(f"i{i}", s, False, True) for i, s in enumerate([0.5, 0.55, 0.6, 0.35, 0.7])]
    outs = [Sample(f"o{i}", s, False, False) for i, s in enumerate([0.1, 0.2, 0.3, 0.4])]
    return ins + outs


def test_calibration_maximises_balanced_accuracy():
    best = fit(_samples())
    # Between 0.4 (highest out) and 0.5 everything but i3 (0.35) is right: BA = (0.8 + 1.0) / 2 = 0.9.
    # Between 0.3 and 0.35 everything but o3 (0.4) is right: BA = (1.0 + 0.75) / 2 = 0.875, worse.
    assert 0.4 < best.threshold < 0.5
    assert best.balanced_accuracy == pytest.approx(0.9)
    assert best.false_refusal_rate == pytest.approx(0.2) and best.refusal_rate == 1.0


def test_calibration_ties_go_to_fewer_false_refusals():
    # Either 0.3 < t < 0.35 (refuse o0 only... ) or 0.4 < t < 0.5 : construct an exact tie.
    samples = [Sample("i0", 0.35, False, True), Sample("i1", 0.6, False, True),
               Sample("o0", 0.1, False, False), Sample("o1", 0.4, False, False)]
    # t in (0.1, 0.35): FRR 0, RR 0.5 -> BA 0.75;  t in (0.4, 0.6): FRR 0.5, RR 1.0 -> BA 0.75.
    best = fit(samples)
    assert best.false_refusal_rate == 0.0 and 0.1 < best.threshold < 0.35


def test_leaving_a_page_out_reads_dense_above_its_level_clamped_to_the_others():
    from consensus_chat.evals.scope_fit import leave_one_page_out

    pages = {"a": (0.3, 0.0), "b": (0.5, 0.2), "c": (0.4, 0.1)}  # each page's level, and how far its cosines sit up
    groups = {n: [Sample(f"{n}i{i}", d + up, False, True) for i, d in enumerate([0.5, 0.55])]
              + [Sample(f"{n}o{i}", d + up, False, False) for i, d in enumerate([0.2, 0.25])]
              for n, (_, up) in pages.items()}
    levels = {n: level for n, (level, _) in pages.items()}
    absolute, relative = leave_one_page_out(groups), leave_one_page_out(groups, levels=levels)
    assert absolute["b"]["refusal_rate"] == 0.5  # b's cosines sit above the pages the rule was fitted on
    assert all(r["refusal_rate"] == 1.0 and r["false_refusal_rate"] == 0.0 for r in relative.values())
    assert leave_one_page_out(groups, levels={**levels, "b": 0.9})["b"]["level"] == 0.4  # a's and c's range
    assert leave_one_page_out(groups, levels={**levels, "b": 0.9}, clamp=False)["b"]["level"] == 0.9


def test_coverage_weight_is_fitted_when_it_separates_better():
    # Dense alone cannot separate i0 (0.3) from o0 (0.4); i0's topic words are all in the document.
    samples = [Sample("i0", 0.3, False, True, 1.0), Sample("i1", 0.5, False, True, 0.0),
               Sample("o0", 0.4, False, False, 0.0), Sample("o1", 0.2, False, False, 0.0)]
    best = fit(samples)
    assert best.coverage_weight > 0.1 and best.false_refusal_rate == 0.0 and best.refusal_rate == 1.0


def test_exact_lookups_stay_in_scope_and_loo_is_reported():
    samples = [*_samples(), Sample("i9", 0.05, True, True)]  # a code look-up with a low score
    assert rates(samples, fit(samples).threshold).false_refusal_rate == pytest.approx(1 / 6)
    loo_rr, loo_frr = leave_one_out(samples)
    # Left out, o3 (0.4) meets a threshold fitted between 0.3 and i3's 0.35 and passes; i3 (0.35) meets
    # one between 0.4 and 0.5 and is refused; every other question is called as in the full fit.
    assert loo_rr == pytest.approx(3 / 4)
    assert loo_frr == pytest.approx(1 / 6)


# -- the whole eval and its CI gate ----------------------------------------------------------------

EXTERNAL = ("consensus_chat.retriever.llama:default_retriever", "consensus_chat.evals.baseline:default_retriever")


@pytest.fixture(scope="session")
def trec_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("trec")


@pytest.fixture(scope="session")
def eval_report(config, trec_dir):
    """One full eval (all modes, the baseline, two llama-index retrievers, answers, conversations, TREC files)."""
    import os

    # retriever.llama:default_retriever opens the index named by the environment, as a user's factory would.
    old = os.environ.get("CONSENSUS_CHAT_HOME")
    os.environ["CONSENSUS_CHAT_HOME"] = str(config.index_dir)
    try:
        return run(config, DEFAULT_QUESTIONS, ("hybrid", "dense", "lexical"), baseline=True, retrievers=EXTERNAL,
                   trec_out=trec_dir)
    finally:
        if old is None:
            del os.environ["CONSENSUS_CHAT_HOME"]
        else:
            os.environ["CONSENSUS_CHAT_HOME"] = old


def test_report_has_the_exact_shape(eval_report):
    r = eval_report
    assert set(REQUIRED_KEYS) <= set(r)
    assert list(r["modes"]) == ["hybrid", "dense", "lexical"]
    for scores in (*r["modes"].values(), r["baseline"]):
        assert RETRIEVAL_KEYS <= set(scores)
        assert all(0.0 <= scores[k] <= 1.0 for k in RETRIEVAL_KEYS)
    assert {"refusal_rate", "false_refusal_rate"} <= set(r["out_of_scope"])
    assert {"citation_precision", "citation_recall", "verbatim_rate"} <= set(r["answers"])
    assert {"search_p50", "search_p95", "answer_p50", "answer_p95"} <= set(r["latency_ms"])
    assert r["latency_ms"]["search_p50"] <= r["latency_ms"]["search_p95"]
    assert len(r["questions"]) == r["n"]
    q = r["questions"][0]
    assert {"id", "question", "kind", "in_scope", "first_relevant_rank", "top3", "ranks"} <= set(q)
    assert set(q["ranks"]) == {"hybrid", "dense", "lexical", "baseline"}


def test_report_modes_are_the_library_numbers(eval_report, rankings):
    runs, qrels = rankings
    for mode in ("hybrid", "dense", "lexical"):
        lib = metrics.retrieval_scores(runs[mode], qrels)
        assert eval_report["modes"][mode] == {k: round(v, 3) for k, v in lib.items()}


def test_other_llama_index_retrievers_sit_beside_ours(eval_report):
    ext = eval_report["external"]
    assert set(ext) == set(EXTERNAL)
    # llama-index's default pipeline, its chunks mapped to sections by text, scores exactly as the baseline row.
    base = ext["consensus_chat.evals.baseline:default_retriever"]
    assert {k: base[k] for k in RETRIEVAL_KEYS} == {k: eval_report["baseline"][k] for k in RETRIEVAL_KEYS}
    # Our adapter ranks as hybrid search but returns no nodes for questions it judges off-topic, so each
    # false refusal costs it exactly that question's hit.
    ours = ext["consensus_chat.retriever.llama:default_retriever"]
    hybrid = eval_report["modes"]["hybrid"]
    refused = [q for q in eval_report["questions"] if q["kind"] == "in_scope" and not q["in_scope"]]
    lost = sum(1 for q in refused if q["first_relevant_rank"] is not None and q["first_relevant_rank"] <= 5)
    # The report rounds both to three digits, so they may differ by up to one unit of the last digit.
    assert ours["hit@5"] == pytest.approx(hybrid["hit@5"] - lost / eval_report["out_of_scope"]["n_in"], abs=1e-3)
    assert all(ours[k] <= hybrid[k] for k in RETRIEVAL_KEYS)
    assert ours["pipeline"] == "consensus_chat.retriever.llama.LlamaIndexRetriever"


def test_trec_files_score_the_same_with_trec_tools(eval_report, trec_dir):
    import ir_measures
    from ir_measures import RR, Success, nDCG

    names = sorted(p.name for p in trec_dir.iterdir())
    assert names == sorted(["qrels.txt", "run.hybrid.txt", "run.dense.txt", "run.lexical.txt", "run.baseline.txt",
                            "run.consensus_chat-retriever-llama-default_retriever.txt",
                            "run.consensus_chat-evals-baseline-default_retriever.txt"])
    qrels = list(ir_measures.read_trec_qrels(str(trec_dir / "qrels.txt")))
    assert len({q.query_id for q in qrels}) == eval_report["out_of_scope"]["n_in"]
    run_ = list(ir_measures.read_trec_run(str(trec_dir / "run.hybrid.txt")))
    got = ir_measures.calc_aggregate([Success @ 1, RR, nDCG @ 5], qrels, run_)
    hybrid = eval_report["modes"]["hybrid"]
    assert round(got[Success @ 1], 3) == hybrid["hit@1"] and round(got[RR], 3) == hybrid["mrr"]
    assert round(got[nDCG @ 5], 3) == hybrid["ndcg@5"]
    first = (trec_dir / "run.hybrid.txt").read_text().splitlines()[0].split()
    assert first[1] == "Q0" and first[3] == "1" and first[5] == "hybrid"


def test_beir_dataset_scores_as_our_jsonl(config, retriever, eval_report, tmp_path):
    from consensus_chat.evals.formats import write_beir

    questions = load_questions(DEFAULT_QUESTIONS)
    write_beir(tmp_path / "beir", questions, retriever.sections())
    lines = (tmp_path / "beir" / "qrels" / "test.tsv").read_text().splitlines()
    assert lines[0] == "query-id\tcorpus-id\tscore" and lines[1].startswith("q01\tllm-chain-of-thought")
    report = run(config, tmp_path / "beir", ("hybrid",), baseline=False, answers=False)
    assert report["modes"]["hybrid"] == eval_report["modes"]["hybrid"]
    # Queries without qrels are the off-topic ones. A BEIR directory is not the file the scope rule was fitted
    # on, so its scope rates are the rule's own calls: the JSONL run's in-sample rates.
    oos, ref = report["out_of_scope"], eval_report["out_of_scope"]
    assert (oos["n_in"], oos["n_out"]) == (ref["n_in"], ref["n_out"])
    assert oos["refusal_rate"] == ref["in_sample"]["refusal_rate"]
    assert oos["false_refusal_rate"] == ref["in_sample"]["false_refusal_rate"]
    # ... and they say so: the rule was fitted on these very questions, so the figures are in sample.
    assert ref["kind"] == "cross-validated" and ref["in_sample"]["kind"] == "in sample"
    assert oos["kind"] == oos["in_sample"]["kind"] == "in sample"
    assert f"fitted on {len(questions)} of these {len(questions)} questions" in oos["estimate"]


@pytest.mark.parametrize("qrels, fragment", [
    ("query-id\tcorpus-id\tscore\nq1\tno-such-section\t1\n", "corpus id 'no-such-section'"),
    ("query-id\tcorpus-id\tscore\nq1\texplainability\n", "test.tsv line 2: expected 3"),
    ("q1\texplainability\thigh\n", "line 1: score 'high'"),
    ("q9\texplainability\t1\n", "query 'q9'"),
])
def test_beir_errors_say_where(config, tmp_path, qrels, fragment):
    from consensus_chat.ingest.errors import ConsensusChatError

    (tmp_path / "qrels").mkdir()
    (tmp_path / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "What is explainability?"}) + "\n")
    (tmp_path / "qrels" / "test.tsv").write_text(qrels)
    with pytest.raises(ConsensusChatError, match=fragment):
        run(config, tmp_path, ("hybrid",), baseline=False, answers=False)


def test_a_bad_retriever_spec_fails_before_the_run(config):
    from consensus_chat.evals.formats import RetrieverFactoryError

    for spec, fragment in (("nomodule_xyz:f", "cannot import"), ("consensus_chat.evals.metrics:nothing", "no attribute"),
                           ("consensus_chat.evals.metrics:mean", "no arguments"), ("consensus_chat.evals.runner:MODES", "not a llama_index BaseRetriever"), ("justamodule", "module:factory")):
        with pytest.raises(RetrieverFactoryError, match=fragment):
            run(config, DEFAULT_QUESTIONS, ("hybrid",), baseline=False, answers=False, retrievers=[spec])


def test_conversations_are_scored_turn_by_turn_with_history(eval_report, assistant, tmp_path):
    from consensus_chat.evals.conversations import ConversationFileError, load_conversations, score_conversations

    conv = eval_report["conversations"]
    assert conv["n_conversations"] == 87 and conv["n_turns"] == 257
    right = [t["right"] for c in conv["conversations"] for t in c["turns"]]
    assert conv["turn_accuracy"] == round(sum(right) / 257, 3) and conv["turn_accuracy"] >= 0.75
    paged = {c.get("corpus") for c in conv["conversations"]}
    assert {"tests/data/second-page.txt", "tests/data/third-page.txt"} <= paged, "each page in its own index"
    c01 = conv["conversations"][0]["turns"]
    # "What does it cite?" is resolved with the first turn's topic and cites its keys.
    assert c01[1]["resolved"].endswith("LLM chain-of-thought faithfulness and legibility")
    assert c01[1]["right"] and c01[1]["expected_keys_found"] is True
    # A label that names the wrong section makes the turn wrong: the score can fail.
    wrong = [{"id": "x", "turns": [{"question": "What does the document say about explainability?",
                                    "relevant_titles": ["Metrology for AI risk assessment"]}]}]
    assert score_conversations(assistant, wrong)["turn_accuracy"] == 0.0
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "c1", "turns": []}\n')
    with pytest.raises(ConversationFileError, match="c.jsonl line 1"):
        load_conversations(path)


def test_gated_metrics_meet_their_thresholds(eval_report):
    thresholds = load_thresholds()
    assert thresholds["min"], "thresholds.json gates nothing"
    problems = gate(eval_report, thresholds)
    assert not problems, "eval below thresholds:\n" + "\n".join(problems)


def test_gate_reports_a_miss():
    report = {"modes": {"hybrid": {"hit@1": 0.5}}, "out_of_scope": {"false_refusal_rate": 0.3}}
    problems = gate(report, {"min": {"modes.hybrid.hit@1": 0.8}, "max": {"out_of_scope.false_refusal_rate": 0.1}})
    assert len(problems) == 2 and "modes.hybrid.hit@1 = 0.5 < minimum 0.8" in problems


def test_hybrid_beats_each_single_signal_and_the_baseline_on_mrr(eval_report):
    m = eval_report["modes"]
    assert m["hybrid"]["mrr"] > max(m["dense"]["mrr"], m["lexical"]["mrr"], eval_report["baseline"]["mrr"])


# -- the CLI ---------------------------------------------------------------------------------------

def test_cli_eval_json_and_out(index_dir, tmp_path):
    out = tmp_path / "report"
    proc = subprocess.run([CLI, "eval", "--json", "--index-dir", str(index_dir), "--out", str(out), "--no-blind",
                           "--no-pages", "--trec-out", str(tmp_path / "trec")], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    full = json.loads(proc.stdout)
    blind_keys = ("blind_test", "earlier_blind_test", "forty_first_blind_test", "fortieth_blind_test", "thirty_ninth_blind_test", "thirty_eighth_blind_test", "thirty_seventh_blind_test", "thirty_sixth_blind_test", "thirty_fifth_blind_test", "thirty_fourth_blind_test", "thirty_third_blind_test", "thirty_second_blind_test", "thirty_first_blind_test", "thirtieth_blind_test", "twenty_ninth_blind_test", "twenty_eighth_blind_test", "twenty_seventh_blind_test", "twenty_sixth_blind_test", "twenty_fifth_blind_test", "twenty_fourth_blind_test", "twenty_third_blind_test", "twenty_second_blind_test", "twenty_first_blind_test", "twentieth_blind_test", "nineteenth_blind_test", "eighteenth_blind_test", "seventeenth_blind_test", "sixteenth_blind_test", "fifteenth_blind_test", "fourteenth_blind_test", "thirteenth_blind_test", "twelfth_blind_test", "eleventh_blind_test", "tenth_blind_test", "ninth_blind_test", "eighth_blind_test", "seventh_blind_test", "sixth_blind_test", "fifth_blind_test", "fourth_blind_test", "third_blind_test", "second_blind_test",
                  "first_blind_test")
    assert set(full) == {"development", *blind_keys}
    assert all(full[key] is None for key in blind_keys)
    data = full["development"]
    assert data["set"] == "development" and "pages" not in data
    assert (tmp_path / "trec" / "qrels.txt").is_file() and (tmp_path / "trec" / "run.lexical.txt").is_file()
    assert data["conversations"]["n_turns"] == 257
    assert set(REQUIRED_KEYS) <= set(data)
    assert set(data["modes"]) == {"hybrid", "dense", "lexical"}
    assert "baseline" in data
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| mode | hit@1 |" in md and "Machine:" in md and "Failures:" in md
    assert "# Development set" in md and "# Blind test set: not scored" in md
    png = (out / "modes.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    image = matplotlib.image.imread(out / "modes.png")
    assert image.shape[0] > 200 and image.shape[1] > 400


def test_cli_eval_tables_for_one_mode(index_dir, tmp_path):
    path = _write(tmp_path, [json.dumps(GOOD), json.dumps(OFF_TOPIC)])
    proc = subprocess.run([CLI, "eval", "--index-dir", str(index_dir), "--questions", str(path), "--mode", "hybrid",
                           "--no-baseline"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "hybrid" in proc.stdout and "dense" not in proc.stdout
    assert "Out of scope" in proc.stdout and "Latency" in proc.stdout
    assert "Conversations" in proc.stdout
    # A question file of one's own: no other pages, no blind test set, and the scope figures' kind named.
    assert "Development set" in proc.stdout and "Blind test set: not scored" in proc.stdout
    assert "Pages, each in its own index" not in proc.stdout
    assert "other questions" in proc.stdout


def test_cli_eval_bad_question_file_exits_2_with_the_line(index_dir, tmp_path):
    path = _write(tmp_path, [json.dumps(GOOD), "", '{"id": "q2", "question": "x"'])
    proc = subprocess.run([CLI, "eval", "--index-dir", str(index_dir), "--questions", str(path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "questions.jsonl line 3" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_calibrate_reports_without_writing_and_writes_the_agreed_format(index_dir, tmp_path):
    import os
    import sys

    target = tmp_path / "calibration.json"
    env = dict(os.environ, CONSENSUS_CHAT_CALIBRATION=str(target))
    cmd = [sys.executable, "-m", "consensus_chat.evals.calibrate", "--index-dir", str(index_dir), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert not target.exists()  # no --write, no file
    record = json.loads(proc.stdout)
    proc = subprocess.run([*cmd, "--write"], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    written = json.loads(target.read_text())
    # The format agreed with retriever/scope.py (issue 11; issue 18 added the pull weight, 0 unless fitted with
    # --pull): cross-validated, keyed to model and corpus.
    assert set(written) == {"model_weights_sha256", "corpus_sha256", "features", "coverage_weight", "pull_weight",
                            "rarest_weight", "name_weight", "threshold",
                            "n_in", "n_out", "in_sample_refusal_rate", "in_sample_false_refusal_rate", "cv_folds",
                            "cv_refusal_rate", "cv_false_refusal_rate", "questions_sha256", "created"}
    assert written["features"] == ["dense", "coverage"] and written["pull_weight"] == 0.0  # the pull is opt-in
    assert written["rarest_weight"] == 0.0  # so is `rarest` (--rarest)
    assert written["name_weight"] == 0.0  # and `names` (--names)
    assert written["threshold"] == record["threshold"]
    assert written["corpus_sha256"] == json.loads((index_dir / "manifest.json").read_text())["corpus_sha256"]
    assert written["n_in"] + written["n_out"] == len(load_questions(DEFAULT_QUESTIONS))
    assert written["model_weights_sha256"] == json.loads((index_dir / "manifest.json").read_text())["model"]["weights_sha256"]


# -- conversations: the turn kinds -----------------------------------------------------------------

class _Cite:
    def __init__(self, title, code="1.1", keys=()):
        self.title, self.code, self.citations = title, code, tuple(keys)


class _Ans:
    def __init__(self, titles=(), refused=False, text=""):
        self.citations = [_Cite(t) for t in titles]
        self.refused, self.text, self.resolved_question = refused, text, ""


@pytest.mark.parametrize("turn, answer, previous, right", [
    # Out of scope: refused, or a question back (no citation), is right; an answer with a citation is wrong.
    ({"question": "q", "relevant_titles": [], "kind": "out_of_scope"}, _Ans(refused=True), None, True),
    ({"question": "q", "relevant_titles": [], "kind": "out_of_scope"}, _Ans(text="Which one do you mean?"), None, True),
    ({"question": "q", "relevant_titles": [], "kind": "out_of_scope"}, _Ans(["A"]), None, False),
    # Ordinal: the N-th distinct section the previous answer cited, in its order; -1 the last.
    ({"question": "the second one", "relevant_titles": ["B", "C"], "ordinal": 2}, _Ans(["B"]), _Ans(["A", "A", "B", "C"]), True),
    ({"question": "the second one", "relevant_titles": ["B", "C"], "ordinal": 2}, _Ans(["C"]), _Ans(["A", "B", "C"]), False),
    ({"question": "the last one", "relevant_titles": ["C"], "ordinal": -1}, _Ans(["C"]), _Ans(["A", "B", "C"]), True),
    ({"question": "the fifth one", "relevant_titles": ["C"], "ordinal": 5}, _Ans(["C"]), _Ans(["A", "B", "C"]), False),
    # expect_text must occur in the answer (case-insensitive), on top of the first citation.
    ({"question": "When?", "relevant_titles": ["S"], "expect_text": "2025"}, _Ans(["S"], text="Published in 2025 [1]."), None, True),
    ({"question": "When?", "relevant_titles": ["S"], "expect_text": "2025"}, _Ans(["S"], text="No year here [1]."), None, False),
    ({"question": "When?", "relevant_titles": ["S"]}, _Ans(["T"]), None, False),
])
def test_each_turn_kind_is_scored_by_its_own_check(turn, answer, previous, right):
    from consensus_chat.evals.conversations import score_turn

    row = score_turn(turn, answer, previous)
    assert row["right"] is right
    assert row["after_refusal"] is bool(previous is not None and previous.refused)


@pytest.mark.parametrize("turn, fragment", [
    ({"question": "x", "relevant_titles": ["A"], "kind": "maybe"}, "kind 'maybe'"),
    ({"question": "x", "relevant_titles": ["A"], "kind": "out_of_scope"}, "empty 'relevant_titles'"),
    ({"question": "x", "relevant_titles": []}, "non-empty 'relevant_titles'"),
    ({"question": "x", "relevant_titles": ["A"], "ordinal": 0}, "non-zero integer"),
    ({"question": "x", "relevant_titles": ["A"], "ordinal": "2"}, "non-zero integer"),
    ({"question": "x", "relevant_titles": ["A"], "expect_text": ""}, "expect_text"),
])
def test_conversation_file_checks_the_new_turn_keys(tmp_path, turn, fragment):
    from consensus_chat.evals.conversations import ConversationFileError, load_conversations

    first = {"question": "What is metrology?", "relevant_titles": ["Metrology for AI risk assessment"]}
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"id": "ok", "turns": [first]}) + "\n" + json.dumps({"id": "c", "turns": [first, turn]}))
    with pytest.raises(ConversationFileError, match=r"c.jsonl line 2: turn 2 .*" + fragment):
        load_conversations(path)
    path.write_text(json.dumps({"id": "c", "turns": [{**first, "ordinal": 1}]}))
    with pytest.raises(ConversationFileError, match="no previous answer"):
        load_conversations(path)


def test_a_refused_turn_and_its_follow_up_are_scored_with_the_real_assistant(assistant):
    from consensus_chat.evals.conversations import ask_turn, score_conversations

    conv = [{"id": "r", "turns": [
        {"question": "Who wrote Pride and Prejudice?", "relevant_titles": [], "kind": "out_of_scope"},
        {"question": "What does the document say about chain-of-thought faithfulness?",
         "relevant_titles": ["LLM chain-of-thought faithfulness and legibility"]}]}]
    scored = score_conversations(assistant, conv)
    first, second = scored["conversations"][0]["turns"]
    assert first["refused"] and first["right"] and second["after_refusal"] and second["right"]
    assert scored["n_after_refusal"] == 1 and scored["after_refusal_right"] == 1.0
    # History is carried as the earlier answers themselves (each with its turn), grown by each turn.
    history: list = []
    answer = ask_turn(assistant, "What does the document say about explainability?", history)
    assert history == [answer] and answer.turn.cited == ("explainability",)
    # A conversation that names a page is asked in that page's own index, built with the assistant's settings.
    paged = score_conversations(assistant, [{"id": "x", "corpus": "tests/data/second-page.txt", "turns": [
        {"question": "Who wrote the guide?", "relevant_titles": ["Red Teaming in Practice: A Field Guide"]}]}])
    assert paged["turn_accuracy"] == 1.0


# -- the blind test set and the other pages, each page in its own index ------------------------------

BLIND_FIXTURE = DATA / "blind-fixture"


@pytest.fixture(scope="session")
def blind_report(config):
    """The blind scorer run on a small fixture set of our own (one page, five questions, one conversation)."""
    from consensus_chat.evals.blind import score_blind

    return score_blind(config, blind_dir=BLIND_FIXTURE)


def test_blind_set_is_scored_apart_with_aggregates_only(blind_report, embedder, tmp_path):
    from consensus_chat.evals.blind import KIND
    from consensus_chat.evals.questions import load_questions, with_section_ids
    from consensus_chat.retriever import open_retriever

    b = blind_report
    page = b["pages"]["tests/data/second-page.txt"]
    assert (page["n_in"], page["n_out"]) == (3, 2) and b["kind"] == page["kind"] == b["overall"]["kind"] == KIND
    assert set(b["slices"]) == {"paraphrase", "unknown_org", "near_domain", "off_topic"}
    assert all(row["kind"] == KIND for row in b["slices"].values())
    # The figures are those of the page's own index: search it directly and compare.
    r = open_retriever(config=build_index(DATA / "second-page.txt", tmp_path / "idx", embedder))
    path = BLIND_FIXTURE / "second-page.jsonl"
    qs = with_section_ids(load_questions(path), r.sections(), path)
    ins = [q for q in qs if q.kind == "in_scope"]
    first = [r.search(q.question, k=10).hits[0].id in q.relevant_ids for q in ins]
    assert page["hit@1"] == round(sum(first) / 3, 3)
    near = r.search(qs[3].question, k=10)
    assert page["near_domain_refusal_rate"] == (0.0 if near.in_scope else 1.0)
    # Targets are listed with the measured value; conversations name their corpus and carry no question text.
    targets = {t["metric"]: t for t in b["targets"]}
    assert targets["hit@1"]["value"] == b["overall"]["hit@1"] and targets["hit@1"]["target"] == ">= 0.92"
    conv = b["conversations"]
    assert conv["n_turns"] == 2 and conv["kind"] == KIND and conv["n_after_refusal"] in (0, 1)
    assert "question" not in json.dumps(conv["conversations"])


def test_blind_pages_file_errors_say_what_is_wrong(config, tmp_path):
    from consensus_chat.evals.blind import score_blind
    from consensus_chat.evals.page_sets import PagesFileError

    (tmp_path / "pages.json").write_text('[{"corpus": "tests/data/no-such-page.txt", "questions": "x.jsonl"}]')
    with pytest.raises(PagesFileError, match="entry 1: corpus file 'tests/data/no-such-page.txt' does not exist"):
        score_blind(config, blind_dir=tmp_path)
    (tmp_path / "pages.json").write_text("{}")
    with pytest.raises(PagesFileError, match="non-empty JSON list"):
        score_blind(config, blind_dir=tmp_path)


def test_other_pages_are_judged_by_a_rule_fitted_on_the_other_pages(config, tmp_path):
    from consensus_chat.evals.page_sets import score_dev_pages

    pages = [{"corpus": "tests/data/second-page.txt", "questions": "evals/pages/second-page.jsonl"},
             {"corpus": "tests/data/third-page.txt", "questions": "evals/pages/third-page.jsonl"}]
    (tmp_path / "pages.json").write_text(json.dumps(pages))
    got = score_dev_pages(config, tmp_path / "pages.json")["pages"]
    assert set(got) == {"tests/data/second-page.txt", "tests/data/third-page.txt"}
    for row in got.values():
        assert row["kind"] == "other pages" and (row["n_in"], row["n_out"]) == (40, 36)
        assert 0.0 <= row["refusal_rate"] <= 1.0 and 0.0 <= row["hit@1"] <= row["mrr"] <= 1.0
    # Each page's rule is fitted on the other page alone, so the two rules differ.
    assert got["tests/data/second-page.txt"]["rule"] != got["tests/data/third-page.txt"]["rule"]


# -- what each number is --------------------------------------------------------------------------

def test_a_question_file_of_ones_own_gets_scope_figures_of_kind_other_questions(config, tmp_path):
    path = _write(tmp_path, [json.dumps(GOOD), json.dumps(OFF_TOPIC)])
    oos = run(config, path, ("hybrid",), baseline=False, answers=False)["out_of_scope"]
    assert oos["kind"] == oos["in_sample"]["kind"] == "other questions"
    assert all(row["kind"] == "other questions" for row in oos["slices"].values())


def test_figures_are_rounded_once_and_printed_as_they_are(eval_report, blind_report):
    from consensus_chat.evals.report import markdown

    for scores in (*eval_report["modes"].values(), eval_report["baseline"]):
        assert all(round(scores[k], 3) == scores[k] for k in RETRIEVAL_KEYS)
    md = markdown({"development": eval_report, "blind_test": blind_report})
    hybrid = eval_report["modes"]["hybrid"]
    assert "| hybrid | " + " | ".join(f"{hybrid[k]:.3f}" for k in metrics.RETRIEVAL_METRICS) + " |" in md
    oos = eval_report["out_of_scope"]
    assert f"| refusal rate (out-of-scope questions refused) | {oos['refusal_rate']:.3f} | cross-validated |" in md
    assert "| refusal rate, the index's own rule | " in md and "| in sample |" in md
    # The two sets are apart, each under its own heading, and the blind part names its kind.
    dev_at, blind_at = md.index("# Development set"), md.index("# Blind test set")
    assert dev_at < blind_at and "| tests/data/second-page.txt | 3 / 2 |" in md[blind_at:]
    assert "blind test" in md[blind_at:] and "bf01" not in md


def test_chart_legend_covers_no_bar_and_labels_are_the_report_figures(eval_report):
    from consensus_chat.evals.chart import chart

    fig = chart(eval_report)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent(renderer)
    bars = [p.get_window_extent(renderer) for p in ax.patches]
    labels = [t for t in ax.texts]
    n_rows = len(eval_report["modes"]) + 1 + len(eval_report["external"])  # modes, the baseline, --retriever
    assert len(bars) == n_rows * 4 and not any(legend.overlaps(b) for b in bars)
    assert not any(legend.overlaps(t.get_window_extent(renderer)) for t in labels)
    assert {t.get_text() for t in labels} >= {f"{eval_report['modes']['hybrid'][m]:.3f}"
                                              for m in ("hit@1", "mrr", "ndcg@5", "recall@5")}



def test_the_second_development_conversations_load_and_are_scored_in_their_own_table(config, tmp_path):
    from consensus_chat.evals.conversations import DEV2_CONVERSATIONS, load_conversations, score_conversation_file
    from consensus_chat.evals.report_sets import conversation_table

    dev2 = load_conversations(DEV2_CONVERSATIONS)
    assert len(dev2) == 50 and sum(len(c["turns"]) for c in dev2) == 144 and all("corpus" in c for c in dev2)
    from consensus_chat.evals.conversations import DEV3_CONVERSATIONS

    dev3 = load_conversations(DEV3_CONVERSATIONS)
    assert len(dev3) == 20 and sum(len(c["turns"]) for c in dev3) == 55 and all("corpus" in c for c in dev3)
    from consensus_chat.evals.conversations import DEV4_CONVERSATIONS

    dev4 = load_conversations(DEV4_CONVERSATIONS)
    assert len(dev4) == 54 and sum(len(c["turns"]) for c in dev4) == 160 and all("corpus" in c for c in dev4)
    path = tmp_path / "two.jsonl"
    path.write_text(
        '{"id": "a", "corpus": "tests/data/second-page.txt", "turns": [{"question": "When?", "relevant_titles": '
        '["No such section"]}]}\n'
        '{"id": "b", "corpus": "corpus/interpretability-singapore-consensus.txt", "turns": [{"question": '
        '"What is metrology?", "relevant_titles": ["Metrology for AI risk assessment"]}, {"question": '
        '"How do I bake bread?", "relevant_titles": [], "kind": "out_of_scope"}]}\n', encoding="utf-8")
    scored = score_conversation_file(config, path)
    assert scored["n_turns"] == 3 and scored["turn_accuracy"] == round(2 / 3, 3)
    assert scored["conversations_file"] == str(path)
    title, _, rows = conversation_table(scored, "second development set")
    assert "3 turns in 2 conversations, second development set" in title and rows[0][1] == "0.667"
