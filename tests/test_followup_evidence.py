"""Continue or start anew, decided by the search's evidence (app/followup_evidence.py): a follow-up whose words do
not pull the search away from the section just shown continues it; one whose words name another section, or that
is about the whole document, starts a new topic; an off-topic question is not carried into scope by the last
section's title; after a refusal only a covered topic of its own is answered. Real model, real index, every
history shape, and never more than two searches for a follow-up."""

from __future__ import annotations

import pytest

from conftest import (FAITHFULNESS, HISTORY_SHAPES, METROLOGY, SOURCE, CountingRetriever, converse, data_page_fixture,
                      first_id, refused_after)

ON_FAITHFULNESS = "What does the document say about chain-of-thought faithfulness?"


@HISTORY_SHAPES
@pytest.mark.parametrize("opener, follow_up, section", [
    ("What is metrology?", "Any examples?", METROLOGY),  # no pronoun, and alone it finds another section
    (ON_FAITHFULNESS, "How could it be improved?", FAITHFULNESS),  # a pronoun with a word of its own
])
def test_words_that_do_not_pull_the_joined_search_away_continue(assistant, shape, opener, follow_up, section):
    assert first_id(assistant.answer(follow_up)) != section  # on its own the question goes elsewhere
    _, answer = converse(assistant, [opener, follow_up], shape)
    assert not answer.refused and first_id(answer) == section, answer.resolved_question


@HISTORY_SHAPES
def test_words_that_name_another_section_start_a_new_topic(assistant, shape):
    _, answer = converse(assistant, [ON_FAITHFULNESS, "What is metrology?"], shape)
    assert first_id(answer) == METROLOGY and answer.resolved_question == "What is metrology?"


def test_a_question_about_the_whole_document_is_not_joined_with_the_last_section(assistant):
    _, answer = converse(assistant, ["What is metrology?", "What is AI safety?"])
    assert answer.resolved_question == "What is AI safety?" and first_id(answer) != METROLOGY


@pytest.mark.parametrize("off_topic", ["How do I bake bread?", "how do i fix my bike", "How do I measure my waist?",
                                       "How long do I bake the bread?"])
def test_an_off_topic_follow_up_without_a_reference_to_the_last_section_is_refused(assistant, off_topic):
    # Neither the last section's title nor a word near its subject ("measure") carries it into scope.
    refused_after(assistant, "What is metrology?", off_topic)


@HISTORY_SHAPES
def test_a_bare_when_after_a_section_without_a_date_asks_the_documents_date(assistant, shape):
    _, answer = converse(assistant, ["What is mechanistic interpretability?", "When?"], shape)
    assert first_id(answer) == SOURCE and "2025" in answer.text


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up, answered", [("What is metrology?", True), ("When was it published?", False),
                                                ("Why?", False), ("Who wrote it?", False)])
def test_after_a_refusal_only_a_covered_topic_of_its_own_is_answered(assistant, shape, follow_up, answered):
    refused, answer = converse(assistant, ["Who wrote Pride and Prejudice?", follow_up], shape)
    assert refused.refused
    assert (not answer.refused and first_id(answer) == METROLOGY) if answered else (
        answer.refused and not answer.citations)


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up, answered", [
    ("who wrote this report?", True), ("And who wrote this report?", True), ("and when was the report published?", True),
    ("And when was it published?", False), ("and who wrote it?", False)])
def test_after_a_refusal_a_question_about_the_document_is_answered_with_or_without_and(assistant, shape, follow_up,
                                                                                      answered):
    # "this report" points at the document, not at what was refused; "it" has only the refused question to stand for.
    _, answer = converse(assistant, ["Who wrote Pride and Prejudice?", follow_up], shape)
    assert (not answer.refused and first_id(answer) == SOURCE and "2025" in answer.text) if answered else (
        answer.refused and not answer.citations)


@pytest.mark.parametrize("opener, follow_up", [("What is metrology?", "Any examples?"),
                                               (ON_FAITHFULNESS, "How could it be improved?"),
                                               (ON_FAITHFULNESS, "What is metrology?"),
                                               ("What is metrology?", "How do I bake bread?")])
def test_a_follow_up_costs_at_most_two_searches(assistant, opener, follow_up):
    from consensus_chat.app.assistant import Assistant

    first = assistant.answer(opener)
    counting = CountingRetriever(assistant.retriever)
    Assistant(counting, assistant.config).answer(follow_up, [first])
    assert counting.searches <= 2


@HISTORY_SHAPES
@pytest.mark.parametrize("off_topic", ["What was the best video game of 2023?",
                                       "What is the tallest mountain in the world?"])
def test_a_definite_phrase_of_words_the_document_never_uses_is_a_new_topic(assistant, shape, off_topic):
    # "the best video game" is a thing of its own, not a reference back: joined with the last title it was answered.
    _, answer = converse(assistant, ["What is metrology?", off_topic], shape)
    assert answer.refused and answer.resolved_question == off_topic


@HISTORY_SHAPES
def test_a_definite_phrase_naming_a_word_of_the_last_section_and_new_things_is_a_new_topic(second_page, shape):
    """"the best attack helicopter model kit" uses a word of AI-assisted red teaming ("attack", "model"), but its own
    search is not in scope and two of its words the page never uses name a new thing (as in
    `test_a_definite_phrase_of_words_the_document_never_uses_is_a_new_topic`): before, it was answered from that card."""
    question = "Where can I buy the best attack helicopter model kit?"
    _, answer = converse(second_page, ["What does AI-assisted red teaming involve?", question], shape)
    assert answer.refused and answer.resolved_question == question


@HISTORY_SHAPES
def test_a_definite_reference_to_the_last_sections_word_continues_it(assistant, shape):
    # Alone "are the tools reliable?" is not covered ("reliable" is not a word of the document), but its own search
    # still leads to the section just shown, and "the tools" are that section's.
    assert assistant.answer("are the tools reliable?").refused
    _, answer = converse(assistant, ["explainability?", "are the tools reliable?"], shape)
    assert not answer.refused and first_id(answer) == "explainability", answer.resolved_question


def test_a_word_the_document_never_uses_does_not_keep_a_new_topic_on_the_last_section(assistant):
    # "fit" is no word of the document: "benchmarks" alone names the audit card, a new topic.
    _, answer = converse(assistant, ["whats the main goal of risk assessment", "how do benchmarks fit in"])
    assert first_id(answer) == "risk-assessment--audit-techniques-and-benchmarks", answer.resolved_question



@HISTORY_SHAPES
@pytest.mark.parametrize("opener", ["Why do incident databases have uneven coverage?",
                                    "What must be in a serious incident notification?"])
def test_a_question_whose_words_a_titled_section_uses_and_the_last_one_does_not_starts_fresh(third_page, shape,
                                                                                              opener):
    # No pronoun, and the section just shown uses none of "near misses ... recording": joined with its title, the
    # search would stay on it; the section titled with "near-miss" that uses every word is a new topic.
    question = "Why are near misses worth recording?"
    _, answer = converse(third_page, [opener, question], shape)
    assert answer.resolved_question == question
    assert first_id(answer) == first_id(third_page.answer(question)) == "incident-reporting--near-miss-reporting"


@HISTORY_SHAPES
def test_a_question_not_covered_only_for_an_everyday_word_continues_the_section_it_finds(assistant, shape):
    # Alone it is refused ("happens" is a word the page never uses); its own search leads to the section just shown,
    # which uses every other word of it.
    assert assistant.answer("So what happens under optimisation pressure?").refused
    _, answer = converse(assistant, ["Is chain-of-thought reasoning faithful?",
                                     "So what happens under optimisation pressure?"], shape)
    assert not answer.refused and first_id(answer) == FAITHFULNESS


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["How do I bake bread under pressure?", "What do sports scouts benchmark?"])
def test_a_question_with_a_rare_word_of_its_own_is_not_carried_by_the_section_it_finds(assistant, shape, follow_up):
    _, answer = converse(assistant, ["Is chain-of-thought reasoning faithful?", follow_up], shape)
    assert answer.refused


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["Give me an example", "Any examples?", "Can you explain that in more detail?"])
def test_a_request_for_more_continues_the_section_just_shown(second_page, shape, follow_up):
    # The page never uses "example" or "detail": alone these were searched and refused.
    shown, answer = converse(second_page, ["What does the guide say about robustness testing?", follow_up], shape)
    assert not answer.refused and answer.citations[0].title == shown.citations[0].title == (
        "Adversarial robustness testing")


@HISTORY_SHAPES
def test_a_request_for_more_after_a_refusal_or_an_everyday_question_is_refused(second_page, shape):
    assert converse(second_page, ["What's a good pizza recipe?", "Give me an example"], shape)[1].refused
    assert converse(second_page, ["What does the guide say about robustness testing?",
                                  "What's the weather like today?"], shape)[1].refused


ninth_page = data_page_fixture("ninth-page.txt", scope="module")


@HISTORY_SHAPES
@pytest.mark.parametrize("page, opener, follow_up, title", [
    ("ninth_page", "Tell me about complaint mining", "Is it reliable?", "Complaint and review mining"),
    ("ninth_page", "Tell me about complaint mining", "How reliable is it?", "Complaint and review mining"),
    # A quantifier and one noun, no verb, leans on the last answer too; before, it was searched alone and refused.
    ("second_page", "Is there anything on models writing attack prompts?", "Any drawbacks?", "AI-assisted red teaming"),
    ("second_page", "Is there anything on models writing attack prompts?", "Any catches?", "AI-assisted red teaming"),
])
def test_one_word_the_page_never_uses_asks_about_what_was_shown(request, shape, page, opener, follow_up, title):
    # The page never says "reliable" ("drawbacks"): alone the question is refused, and joined with the title it was
    # still refused.
    assistant = request.getfixturevalue(page)
    assert assistant.answer(follow_up).refused
    _, answer = converse(assistant, [opener, follow_up], shape)
    assert not answer.refused and answer.citations[0].title == title


@HISTORY_SHAPES
def test_a_pronoun_with_words_of_another_topic_or_after_a_refusal_is_still_refused(ninth_page, shape):
    assert converse(ninth_page, ["Tell me about complaint mining", "Is it good for baking bread?"], shape)[1].refused
    assert converse(ninth_page, ["What's a good pizza recipe?", "Is it reliable?"], shape)[1].refused
    assert converse(ninth_page, ["What's a good pizza recipe?", "Any drawbacks?"], shape)[1].refused


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["Who has written about it?", "Who wrote about that?"])
def test_who_wrote_about_a_section_is_answered_from_its_sources(ninth_page, shape, follow_up):
    # The pronoun is what was written about: the section's sources, not the document's authors (as before).
    _, answer = converse(ninth_page, ["Tell me about cold-chain logging", follow_up], shape)
    assert answer.citations[0].title == "Cold-chain temperature logging" and "Ndraha" in answer.text


@HISTORY_SHAPES
def test_who_wrote_it_after_a_section_is_still_the_documents_authors(ninth_page, shape):
    _, answer = converse(ninth_page, ["Tell me about cold-chain logging", "Who wrote it?"], shape)
    assert answer.citations[0].title.startswith("Tracing Foodborne Illness") and "2021" in answer.text


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["How soon?", "How often?", "How quickly?"])
def test_how_and_one_word_continues_the_last_topic_as_a_bare_wh_word_does(third_page, shape, follow_up):
    # Searched alone ("soon", "often") they were refused: the page never uses the word.
    _, answer = converse(third_page, ["What is serious incident notification?", follow_up], shape)
    assert not answer.refused and answer.citations[0].title == "Serious incident notification"


@HISTORY_SHAPES
def test_how_and_one_word_after_a_refusal_is_refused(third_page, shape):
    assert converse(third_page, ["How do I bake bread?", "How long?"], shape)[1].refused


@HISTORY_SHAPES
def test_the_card_is_the_one_just_shown(assistant, shape):
    follow_up = "What example does the card give?"
    assert first_id(assistant.answer(follow_up)) != FAITHFULNESS  # alone, "the card" is any card
    _, answer = converse(assistant, [ON_FAITHFULNESS, follow_up], shape)
    assert not answer.refused and first_id(answer) == FAITHFULNESS, answer.resolved_question


@HISTORY_SHAPES
def test_the_section_on_a_topic_names_that_topic(assistant, shape):
    # "the section on metrology" says which section it means: a new topic, not the one just shown.
    _, answer = converse(assistant, [ON_FAITHFULNESS, "What does the section on metrology say?"], shape)
    assert first_id(answer) == METROLOGY


@pytest.mark.parametrize("follow_up, alone", [
    ("Something different: how do I make a paper plane that flies far?", "how do I make a paper plane that flies far?"),
    ("Leaving that aside: what's the best snake to keep as a pet?", "what's the best snake to keep as a pet?"),
    ("Different topic: how do I clean leather boots?", "how do I clean leather boots?"),
    # "Unrelated, but …" is refused for saying so (test_memory_phrasings), keeping the question as asked.
])
def test_an_opening_that_sets_the_last_topic_aside_asks_the_question_alone(assistant, follow_up, alone):
    _, answer = converse(assistant, ["What is metrology?", follow_up])
    assert answer.refused and answer.resolved_question == alone


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["Why is coverage so spotty?", "Why is coverage so sparse?"])
def test_the_users_word_for_the_shown_cards_own_continues_it(third_page, shape, follow_up):
    """Every word of the follow-up but one is the card's, and that one the page never uses ("spotty" for the card's
    "uneven"): it asks about the card in other words. Before, not covered alone, it was refused."""
    _, answer = converse(third_page, ["What does the page say about incident databases?", follow_up], shape)
    assert not answer.refused and answer.citations[0].title == "Incident databases", answer.resolved_question


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["How do I get better phone coverage in the countryside?",
                                       "Why is mobile coverage spotty?"])
def test_two_words_the_page_never_uses_beside_the_cards_word_are_a_new_topic(third_page, shape, follow_up):
    _, answer = converse(third_page, ["What does the page say about incident databases?", follow_up], shape)
    assert answer.refused, answer.resolved_question


@HISTORY_SHAPES
def test_the_users_own_thing_in_the_first_person_is_a_new_topic(second_page, shape):
    """The tags define "Auditor"; a first-person question with a word the page never uses ("financial") asks of the
    user's own thing, not of the tags. Before, the tags, which use "auditor", answered it."""
    _, answer = converse(second_page, ["What does Auditor mean here?", "How do I become a financial auditor?"], shape)
    assert answer.refused, answer.resolved_question


@HISTORY_SHAPES
def test_a_follow_up_in_common_words_alone_asks_about_what_was_shown(third_page, shape):
    """"Which way is best?" names nothing, and the one word of it the page never uses ("way") is common English: it
    has no topic of its own, so it asks about the card just shown. Before, refused alone, it was refused."""
    _, answer = converse(third_page, ["What is near-miss reporting?", "Which way is best?"], shape)
    assert not answer.refused and answer.citations[0].title == "Near-miss reporting", answer.resolved_question
    _, guitar = converse(third_page, ["What is near-miss reporting?", "Which guitar is best?"], shape)
    assert guitar.refused, guitar.resolved_question  # a word rarer than common English names a topic of its own
