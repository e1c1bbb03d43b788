"""A name the document never uses: the topic, or beside it (issue 18), on a page no rule was fitted on.

tests/data/ninth-page.txt (foodborne outbreak tracing) is in no pages file: neither `DEFAULT` nor any calibration
saw it, so these calls are the default rule's on a new page, as a user's own page would get them.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from conftest import data_page_fixture

# The names are the topic: what an agency reported about one company's outbreak, though the page is about outbreaks.
NAMED_TOPIC = "What was in the CDC's report on the Chipotle E. coli outbreak?"
# The names are beside a covered topic: tracing an outbreak back through the supply chain.
UNKNOWN_ORG = "How could McDonald's trace which supplier's lettuce made its customers sick?"


ninth_page = data_page_fixture("ninth-page.txt", scope="module")


def test_the_page_is_judged_by_the_default_rule_with_its_name_weight(ninth_page):
    rule = ninth_page.retriever.scope_model
    assert rule.source == "default" and rule.name_weight > 0


def test_a_question_whose_topic_is_an_unknown_name_is_refused(ninth_page):
    from consensus_chat.retriever.decision import decide

    answer = ninth_page.answer(NAMED_TOPIC)
    assert answer.refused and any("never mentions CDC or Chipotle" in n for n in answer.notices)
    # The name's share of the topic is what refuses it: without the name weight the same rule would answer.
    evidence = ninth_page.retriever.evidence(NAMED_TOPIC)
    rule = ninth_page.retriever.scope_model
    assert decide(evidence, replace(rule, name_weight=0.0)).in_scope
    assert not decide(evidence, rule).in_scope


def test_a_question_that_only_mentions_an_unknown_organisation_is_answered(ninth_page):
    answer = ninth_page.answer(UNKNOWN_ORG)
    assert not answer.refused
    assert answer.citations[0].title == "Supply-chain traceback"
    assert any("never mentions McDonald" in n and "the rest of the question" in n for n in answer.notices)


# The name against the covered rest (docs/scope.md, "The name against the covered rest"): the share is the names'
# informativeness over theirs and the covered topic words', so words the page does not use leave it as it is.
def _word(word: str, zipf: float, covered: bool = False, name: str | None = None):
    from consensus_chat.retriever.evidence import WordEvidence

    return WordEvidence(word, covered, None, zipf, name=name)


def test_the_name_share_weighs_the_names_against_the_covered_words_only():
    from consensus_chat.retriever.decision import name_share

    name, covered = _word("chipotle", 3.0, name="Chipotle"), _word("outbreak", 4.0, True)
    uncovered = _word("burrito", 3.0)
    assert name_share((name, covered)) == pytest.approx(5.0 / (5.0 + 4.0))
    # A word the page does not use counts against coverage and `rarest`; it does not dilute the name.
    assert name_share((name, covered, uncovered)) == name_share((name, covered))
    # Beside a covered topic a name carries little; with nothing covered beside it, all of it.
    more = (_word("traceback", 3.5, True), _word("supplier", 4.0, True), _word("lettuce", 4.0, True))
    assert name_share((name, covered, *more)) < 0.3 < name_share((name, covered))
    assert name_share((name, uncovered)) == 1.0
    assert name_share((covered, uncovered)) == 0.0


# Written for this change, in the style of the development pages' `nm-*` questions: an organisation named beside the
# page's own topic (genome sequencing linking cases), and a name that is what is asked.
BESIDE = "Could Walmart use genome sequencing to link cases of food poisoning across its stores?"
IS_THE_TOPIC = "How did the Jack in the Box outbreak change meat inspection rules?"


def test_a_name_beside_the_covered_topic_is_answered_and_a_name_that_is_the_topic_refused(ninth_page):
    beside = ninth_page.answer(BESIDE)
    assert not beside.refused and any("never mentions Walmart" in n for n in beside.notices)
    assert beside.citations[0].title == "Pathogen genome sequencing"
    assert ninth_page.answer(IS_THE_TOPIC).refused
    # The names, not the rest, refuse it: beside them the page uses few of its words ("outbreak", "inspection").
    from consensus_chat.retriever.decision import decide, name_share

    evidence = ninth_page.retriever.evidence(IS_THE_TOPIC)
    rule = ninth_page.retriever.scope_model
    assert name_share(evidence.words) > 0.5 > name_share(ninth_page.retriever.evidence(BESIDE).words)
    assert decide(evidence, replace(rule, name_weight=0.0)).in_scope and not decide(evidence, rule).in_scope


@pytest.mark.parametrize("page, question, name", [
    # Both were answered before: beside their covered words the name's share was too small to refuse them.
    ("assistant", "Which audit benchmarks does Scale AI maintain?", "Scale AI"),
    ("assistant", "What did the Bletchley Declaration say about risk assessment of frontier models?",
     "Bletchley Declaration"),
    # The README's examples: "has" with a participle, and an opinion asked of the name (both were answered).
    ("third_page", "What incidents has the FAA recorded?", "FAA"),
    ("third_page", "What does Elon Musk think about near misses?", "Elon Musk"),
])
def test_a_question_for_what_an_unknown_name_says_is_refused(request, page, question, name):
    answer = request.getfixturevalue(page).answer(question)
    assert answer.refused and any(f"never mentions {name}" in n for n in answer.notices)


@pytest.mark.parametrize("question", [
    "How would Nvidia audit its models for harmful behaviour?",  # what someone could do: a covered topic
    "What should Baidu do when its model shows worrying behaviour?",
])
def test_a_question_for_what_an_unknown_name_could_do_is_answered(assistant, question):
    answer = assistant.answer(question)
    assert not answer.refused and answer.notices  # answered for the rest, with the name noted


@pytest.mark.parametrize("page, question, section", [
    # Without the name, "help uncover weak spots in a model ahead of real attackers" was too vague to be covered.
    ("second_page", "Could the Foolbox library help uncover weak spots in a model ahead of real attackers?",
     "Adversarial robustness testing"),
    ("third_page", "Would Whistleblower Aid's work with tech employees connect to anything on this page?",
     "Whistleblower protections"),
])
def test_a_question_whether_a_topic_applies_to_a_name_reads_the_name_too(request, page, question, section):
    answer = request.getfixturevalue(page).answer(question)
    assert not answer.refused and answer.citations[0].title == section and answer.notices


def test_whether_it_applies_is_read_from_how_the_question_opens():
    from consensus_chat.retriever.names import asks_how_it_applies

    for question in ("Would Foolbox help?", "Could Meta use it?", "If HackerOne ran a bounty, what then?",
                     "How could Meta detect it?", "Does NASA's system show why it matters?"):
        assert asks_how_it_applies(question), question
    for question in ("What was agreed at the Paris AI Action Summit?", "When does the EU AI Act apply?",
                     "How did the epidemic spread?", "Who developed the vaccine?"):
        assert not asks_how_it_applies(question), question


def test_what_a_name_says_is_read_from_the_question():
    from consensus_chat.retriever.names import asks_what_it_says

    assert asks_what_it_says("What does the EU AI Act require of providers?", ("EU AI Act",))
    assert asks_what_it_says("How many deaths did the O'Neill Review predict by 2050?", ("O'Neill Review",))
    assert asks_what_it_says("What did the Lancet Commission on global health conclude?", ("Lancet Commission",))
    assert asks_what_it_says("How does the EU AI Act define a high-risk system?", ("EU AI Act",))
    assert not asks_what_it_says("How does Anthropic find features inside its models?", ("Anthropic",))
    assert asks_what_it_says("What does ISO/IEC 42001 require of a management system?", ("ISO", "IEC"))
    assert not asks_what_it_says("How would Nvidia find inputs that break its model?", ("Nvidia",))
    assert not asks_what_it_says("What should Amazon do for its drivers?", ("Amazon",))
    assert not asks_what_it_says("What does the page say about Meta?", ("Meta",))  # the page says it
    # "has" with a participle, and an opinion asked of the name.
    assert asks_what_it_says("What incidents has the FAA recorded?", ("FAA",))
    assert asks_what_it_says("What does Elon Musk think about near misses?", ("Elon Musk",))
    assert not asks_what_it_says("How has Boeing used root cause analysis?", ("Boeing",))
    # A part of the name before it ("the final text of"), and a longer name of its own after it.
    assert asks_what_it_says("What did the final text of the EU AI Act say about general-purpose models?",
                             ("EU AI Act",))
    assert asks_what_it_says("What did President Biden's October 2023 executive order on AI require of developers?",
                             ("President Biden's October",))
    assert not asks_what_it_says("What does the page say about the final text of the EU AI Act?", ("EU AI Act",))


@pytest.mark.parametrize("question", [
    "What did the final text of the EU AI Act say about general-purpose models with systemic risk?",
    "What did President Biden's October 2023 executive order on AI require of developers?",
])
def test_what_a_law_or_order_the_page_never_names_says_is_refused(assistant, question):
    assert assistant.answer(question).refused  # both were answered from the sections beside the name's words


@pytest.mark.parametrize("question, section, name", [
    ("How would Airbus use near-miss reporting?", "Near-miss reporting", "Airbus"),
    ("How would Microsoft use incident databases?", "Incident databases", "Microsoft"),
    # Beside a word or two the page does not use, too: the title counts against the name's share (below).
    ("How should Boeing run a root cause analysis after a failure?", "Root cause analysis", "Boeing"),
    ("Would the FAA benefit from near-miss reporting for AI systems?", "Near-miss reporting", "FAA"),
])
def test_a_name_beside_a_section_named_by_its_title_is_answered_with_a_note(third_page, question, section, name):
    # Beside the name only common words and a title: the title is the topic. Before, the name was taken for it.
    answer = third_page.answer(question)
    assert not answer.refused and answer.citations[0].title == section
    assert any(f"never mentions {name}" in n for n in answer.notices)


def test_a_name_beside_a_key_or_a_code_is_still_the_topic(assistant):
    assert assistant.answer("Who is the CEO of Anthropic?").refused  # Anthropic is a source key here


@pytest.mark.parametrize("question", ["How should Boeing run a root cause analysis after a failure?",
                                      "Would the FAA benefit from near-miss reporting for AI systems?"])
def test_a_title_beside_a_name_counts_against_the_names_share(third_page, question):
    # Both were refused: the title's words are set aside from the topic words as an entity, so beside a word or two
    # the page does not use the name seemed to carry all of what is asked. What the page knows by name counts too.
    from consensus_chat.retriever.decision import name_share

    evidence = third_page.retriever.evidence(question)
    assert evidence.known and name_share(evidence.words, evidence.known) < name_share(evidence.words)


def test_a_name_beside_a_title_is_still_refused_when_it_is_what_is_asked(third_page):
    # Guard: the title lowers the names' share; the words the page does not use still refuse the question.
    assert third_page.answer("How much did Boeing spend on its root cause analysis of the 737 MAX crashes?").refused


def test_known_entities_weigh_as_covered_words_in_the_name_share():
    from consensus_chat.retriever.decision import name_share

    name = _word("boeing", 3.8, name="Boeing")
    assert name_share((name,)) == 1.0
    assert name_share((name,), (_word("root", 4.5, True), _word("analysis", 4.5, True))) == pytest.approx(
        4.2 / (4.2 + 3.5 + 3.5))
