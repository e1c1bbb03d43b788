"""The scope decision's evidence (issue 18 §1): the pull of a question's uncovered words, the one decision that
reads it, the fit's array form of that decision, and bad input. Real model, real index, the shipped calibration
(two features) and the rule `calibrate --pull` fits on the development questions (docs/scope.md)."""

from __future__ import annotations

import time

import pytest

from consensus_chat.evals.questions import DEFAULT_QUESTIONS, load_questions
from consensus_chat.retriever.decision import decide, features
from consensus_chat.retriever.scope import ScopeModel

STOCKS = "How do I measure the risk of investing in stocks?"
BASEMENT = "How do I assess the risk that my basement floods?"
# A paraphrase whose own words ("peeking", "skill") mean what the document says in other words.
PARAPHRASE = "Can peeking inside a model confirm that removing a dangerous skill actually worked?"
META = "How could Meta detect that Llama is hiding its true reasoning in its chain of thought?"
# Questions with context around one asked sentence (tests/test_asked_sentence.py).
ASKED_WITH_CONTEXT = (
    "We are a small lab. Our reviewers keep asking about hidden knowledge. Can peeking inside a model confirm that "
    "removing a dangerous skill actually worked?",
    "We bake bread every weekend and our oven runs hot. What does the page say?",
    "I audit AI systems for a living. What temperature should I bake bread at?",
)
# What `python -m consensus_chat.evals.calibrate --pull` fits on evals/questions.jsonl (docs/scope.md).
WITH_PULL = ScopeModel(0.2, 0.403, "test", pull_weight=2.0)


def test_uncovered_words_that_change_the_topic_pull_the_question_away(retriever):
    stocks, paraphrase = retriever.evidence(STOCKS), retriever.evidence(PARAPHRASE)
    assert stocks.covered is not None and {w.word for w in stocks.covered.words} >= {"measure"}
    assert "stocks" not in stocks.covered.text and "investing" not in stocks.covered.text
    assert retriever.evidence(BASEMENT).pull > 0.1
    assert stocks.pull > paraphrase.pull
    # Every topic word used by the document: nothing to drop, no pull and no extra encoding.
    whole = retriever.evidence("What is mechanistic interpretability?")
    assert whole.covered is None and whole.pull == 0.0


def test_the_pull_is_what_refuses_a_near_domain_question(retriever):
    evidence = retriever.evidence(STOCKS)
    assert not decide(evidence, WITH_PULL).in_scope
    assert decide(evidence, ScopeModel(WITH_PULL.coverage_weight, WITH_PULL.threshold, "test")).in_scope  # no pull
    assert not retriever.search(STOCKS, k=3, scope_rule=WITH_PULL).in_scope
    assert retriever.scope_model.pull_weight == 0.0  # the shipped rule: opt-in until a blind set judges it


def test_a_rule_without_a_pull_weight_never_reads_the_pull(retriever):
    evidence = retriever.evidence("How can I tell whether a model's stated reasoning matches what it really did?")
    assert decide(evidence, ScopeModel(0.2, 0.4, "test")).in_scope
    assert "covered" not in evidence.__dict__  # the extra reading was never encoded


def test_names_stay_evidence_about_themselves_only(retriever):
    meta = retriever.search(META, k=3)
    assert meta.in_scope and meta.hits[0].code == "1.1.2"
    assert any("never mentions Meta or Llama" in n for n in meta.notices)
    assert not retriever.search("What does the EU AI Act require?", k=3).in_scope
    assert not retriever.search("What is OpenAI's revenue?", k=3).in_scope  # a key the page cites, off topic
    grosse = retriever.search("What does Grosse's work show?", k=3)
    assert grosse.in_scope and grosse.hits[0].code == "1.1.1"


def test_a_long_question_with_context_ranks_its_section_first(retriever):
    question = ("Some background: we are an external auditing firm, and our clients are reluctant to share model "
                "weights with us because of intellectual property concerns. We want to run evaluations without seeing "
                "the parameters, and without the developers knowing exactly which tests we run. How can evaluation "
                "infrastructure protect both sides?")
    result = retriever.search(question, k=3)
    assert result.in_scope and result.hits[0].title == "Secure evaluation infrastructure"


def test_the_fits_array_form_makes_the_decisions_decide_makes(retriever):
    from consensus_chat.evals.scope_fit import _Table, collect

    questions = load_questions(DEFAULT_QUESTIONS)
    picked = [q for q in questions if q.slice in {"near_domain", "named_topic", "unknown_org", "cue_words"}][:40]
    several = "What does the document say about metrology and quantum computing?"
    picked.append(type(picked[0])("parts", several, (), (), "in_scope", 0))
    picked += [type(picked[0])(f"asked{n}", q, (), (), "in_scope", 0) for n, q in enumerate(ASKED_WITH_CONTEXT)]
    samples = collect(retriever, picked)
    assert any(s.evidence.parts for s in samples) and any(isinstance(s.features, bool) for s in samples)
    assert any(s.evidence.asked is not None for s in samples)  # the asked sentence of a question with context
    assert any(not isinstance(s.features, bool) and s.features[4] > 0 for s in samples)  # the names weight is tried
    table = _Table(samples)
    for weight, pull, rarest, names, threshold in [
            (0.0, 0.0, 0.0, 0.0, 0.35), (0.2, 1.0, 0.0, 0.0, 0.41), (0.5, 0.25, 0.03, 0.0, 0.55),
            (0.1, 2.0, 0.0, 0.5, 0.3), (0.4, 2.5, 0.03, 0.75, 0.227), (0.3, 0.0, 0.08, 1.0, 0.2)]:
        calls = table.calls([threshold], weight, pull, rarest, names)[0]
        rule = ScopeModel(weight, threshold, "test", pull_weight=pull, rarest_weight=rarest, name_weight=names)
        assert list(calls) == [decide(s.evidence, rule).in_scope for s in samples]


def test_a_part_is_judged_with_the_whole_questions_lexical_evidence_not_its_own_coverage(retriever):
    # A five-page refit raises the coverage weight above the threshold (docs/scope.md): judged on its own coverage
    # (1 by construction) a part whose words the page uses would pass on any dense support.
    rule = ScopeModel(0.6, 0.382, "test", pull_weight=3.0)
    evidence = retriever.evidence("What does Marks and Spencer sell?")  # "Marks" is one of the page's source keys
    covered = [p for p in evidence.parts if all(w.covered for w in p.words)]
    assert covered and all(rule.score(p.best, 1.0) >= rule.threshold for p in covered)  # what the old rule accepted
    assert not decide(evidence, rule).in_scope
    # A part the page does cover, beside one it does not, is still answered, with a notice.
    several = decide(retriever.evidence("What does the document say about metrology and quantum computing?"),
                     retriever.scope_model)
    assert several.in_scope and several.missing and "metrology" in several.reading.text


def test_the_eval_reads_the_evidence_its_searches_hold(retriever):
    from consensus_chat.evals.scope_fit import collect

    questions = load_questions(DEFAULT_QUESTIONS)[::4]
    results = {q.id: retriever.search(q.question, k=10) for q in questions}  # as the runner searches
    held, gathered = collect(retriever, questions, results), collect(retriever, questions)
    assert all(s.evidence is results[s.id].evidence for s in held), "nothing is gathered again"
    assert [s.features for s in held] == [s.features for s in gathered] and len(held) > 20


def test_the_features_are_the_rules_inputs(retriever):
    found = features(retriever.evidence(STOCKS))
    assert isinstance(found, tuple) and len(found) == 5
    dense, coverage, pull, rarest, names = found
    assert names == 0.0  # "investing in stocks" names nothing
    assert WITH_PULL.score(dense, coverage, pull) < WITH_PULL.threshold <= WITH_PULL.score(dense, coverage)
    assert WITH_PULL.score(dense, coverage, pull, rarest) == WITH_PULL.score(dense, coverage, pull)  # weight 0


def test_rarest_is_the_rarest_uncovered_word_names_left_out(retriever):
    from consensus_chat.retriever.decision import informativeness, rarest_uncovered

    stocks = retriever.evidence(STOCKS)
    uncovered = [w for w in stocks.words if not w.covered]
    assert {"stocks", "investing"} <= {w.word for w in uncovered}
    assert rarest_uncovered(stocks.words) == max(informativeness(w) for w in uncovered) > 3.0
    # "Meta" and "Llama" are names the page never uses: evidence about themselves only, not `rarest`.
    meta = retriever.evidence(META)
    assert meta.names and rarest_uncovered(meta.words) < min(informativeness(w) for w in meta.words if w.name)
    assert rarest_uncovered(retriever.evidence("What is mechanistic interpretability?").words) == 0.0


def test_a_rule_with_a_rarest_weight_lowers_the_score_by_it(retriever):
    from consensus_chat.evals.scope_fit import NO_RAREST, RAREST_WEIGHTS, grids

    # What `calibrate --default evals/pages/pages.json --pull --rarest` fits on the five pages (docs/scope.md).
    rule = ScopeModel(0.4, 0.226875, "test", pull_weight=2.5, rarest_weight=0.03)
    assert grids(rule)["rarests"] == RAREST_WEIGHTS and grids(WITH_PULL)["rarests"] == NO_RAREST
    evidence = retriever.evidence(STOCKS)
    without = ScopeModel(rule.coverage_weight, rule.threshold, "test", pull_weight=rule.pull_weight)
    dense, coverage, pull, rarest, _ = features(evidence)
    assert rule.score(dense, coverage, pull, rarest) == pytest.approx(
        without.score(dense, coverage, pull) - rule.rarest_weight * rarest)
    assert rarest > 3.0 and decide(evidence, rule).score < decide(evidence, without).score


def test_the_name_share_is_the_share_of_the_topic_an_unknown_name_carries(retriever):
    from consensus_chat.retriever.decision import name_share

    # A name beside a long covered question carries little of it; a name that is what is asked, much.
    beside = retriever.evidence(META)
    topic = retriever.evidence("What is the GDPR's position on automated decision-making?")
    assert beside.names and topic.names == ("GDPR",)
    assert 0.0 < name_share(beside.words) < name_share(topic.words)
    assert name_share(retriever.evidence(STOCKS).words) == 0.0
    # The rule weighs it as `decide` reads it: a name weight lowers the score by weight x share, nothing else.
    rule = ScopeModel(0.5, 0.3, "test", name_weight=0.75)
    without = ScopeModel(0.5, 0.3, "test")
    assert decide(topic, without).score - decide(topic, rule).score == pytest.approx(0.75 * name_share(topic.words))


def test_a_question_of_what_someone_could_do_does_not_weigh_the_name(retriever):
    from consensus_chat.retriever.decision import name_feature

    # "How could Meta …?" asks what Meta could do about a covered topic: the name is who would do it. "Is Meta's …?"
    # can ask about the name itself, and keeps its share.
    could = retriever.evidence("How could Meta check whether a model's chain of thought is faithful?")
    fact = retriever.evidence("Is Meta's chain-of-thought research faithful?")
    assert could.names and fact.names
    assert name_feature(could) == 0.0 and name_feature(fact) > 0.0
    rule = ScopeModel(0.5, 0.3, "test", name_weight=0.75)
    assert decide(could, rule).score == pytest.approx(decide(could, ScopeModel(0.5, 0.3, "test")).score)


def test_beside_a_name_what_someone_should_do_about_a_covered_topic_is_answered(third_page):
    # The default rule weighs the name's share; for a question of what someone should do it weighed as if the name
    # were what is asked, and the question was refused.
    answer = third_page.answer("Should Starship Technologies log the times its delivery robots nearly hit someone?")
    assert not answer.refused and answer.citations[0].title == "Near-miss reporting"


def test_a_question_asked_of_the_page_does_not_weigh_the_name(retriever):
    from consensus_chat.retriever.decision import name_feature

    # "What does the page say about …?" asks for the page's content: a name beside it sets the scene. Asked of the name
    # itself, the name keeps its share.
    asked = retriever.evidence("What does the page say about Meta's chain-of-thought research?")
    fact = retriever.evidence("Is Meta's chain-of-thought research faithful?")
    assert asked.names and fact.names
    assert name_feature(asked) == 0.0 and name_feature(fact) > 0.0


def test_beside_a_name_a_question_asked_of_the_page_is_answered(third_page):
    # The default rule weighed the share of a company the page never mentions as if it were what is asked, and refused
    # the question; a named event the page does not cover is still refused.
    answer = third_page.answer("Does the page think Atlassian's blameless incident reviews are worth copying?")
    assert not answer.refused and answer.citations[0].title == "Root cause analysis"
    assert third_page.answer("What does the page say about the Titanic?").refused


# -- bad input (issue 18, "Bad input"): a clear refusal or an answer, never an error -------------------------

@pytest.mark.parametrize("question", [
    "Bengio Tegmark Russell Mindermann",  # all names
    "the of and to with what is",  # all stopwords
    "?!.,;:...---",  # all punctuation
])
def test_degenerate_questions_get_a_refusal_an_answer_or_a_clear_message(assistant, question):
    from consensus_chat.ingest.errors import ConsensusChatError

    try:
        answer = assistant.answer(question)
    except ConsensusChatError as exc:  # the documented one-line message, not a traceback
        assert "empty" in str(exc) and "\n" not in str(exc)
        return
    assert answer.refused or answer.citations


def test_a_pasted_paragraph_of_several_kilobytes_is_answered_or_refused(assistant):
    paragraph = ("Our organisation has been thinking about many things lately, including budgets, hiring, the office "
                 "move and how we talk to customers. ") * 30 + "How can we tell whether a model's reasoning is faithful?"
    assert len(paragraph) > 4000
    answer = assistant.answer(paragraph)
    assert answer.refused or answer.citations
    assert any("characters" in n for n in answer.notices)  # says what it did with the rest


def test_a_name_of_200_capitalised_words_is_refused_quickly(retriever):
    pieces = "Alder Brook Cedar Dale Elm Fern Glen Heath Ivy Juniper Kestrel Linden Maple Nettle Oak".split()
    name = " ".join(pieces[(i * 7) % len(pieces)] + ("son" if i % 3 else "ley") for i in range(200))
    question = f"What did {name} publish about budgets?"
    retriever.search("warm up", k=3)
    start = time.perf_counter()
    result = retriever.search(question, k=5)
    elapsed = time.perf_counter() - start
    assert not result.in_scope
    # Not a benchmark: a guard against a quadratic path over the name's words (it takes about 0.3 s here).
    assert elapsed < 5.0


@pytest.mark.parametrize("question", ["What does Grosse's paper illustrate?", "What does Grosse describe?",
                                      "What does Grosse's study highlight?"])
def test_a_reporting_verb_beside_a_source_key_says_which_work_not_what_about(retriever, question):
    """"illustrate", "describe", "highlight" are what a source does, as "show" and "argue" are: beside a key the page
    cites they are no topic of their own. Before, the rare uncovered verb refused the question (a development page's
    "What does Carlini's paper illustrate?")."""
    result = retriever.search(question, k=3)
    assert result.in_scope and result.hits[0].code == "1.1.1"
    assert not retriever.search("What does the page illustrate about poetry?", k=3).in_scope
