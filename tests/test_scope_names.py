"""A name the document never uses: the topic, or beside it (issue 18), on a page no rule was fitted on.

tests/data/ninth-page.txt (foodborne outbreak tracing) is in no pages file: neither `DEFAULT` nor any calibration
saw it, so these calls are the default rule's on a new page, as a user's own page would get them.
"""

from __future__ import annotations

from dataclasses import replace

from conftest import data_page_fixture

# The names are the topic: what an agency reported about one company's outbreak, though the page is about outbreaks.
NAMED_TOPIC = "What did the CDC report about the Chipotle E. coli outbreak?"
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
