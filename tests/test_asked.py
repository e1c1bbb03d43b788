"""A follow-up resolved into a question that names a section by its title ("What does the last one say is lacking?"
-> "What does Metrology for AI risk assessment say is lacking?") is answered first with the sentence that answers what
the user asked of that section, not with the sentence that repeats the title's words, which the user never wrote. A title
the user wrote stays part of what is asked. Real model and index."""

from __future__ import annotations

from consensus_chat.app.asked import asked_of

RESOLVED = "What does Metrology for AI risk assessment say is lacking?"


def test_a_title_put_in_for_the_user_is_cut_from_what_is_asked(retriever):
    result = retriever.search(RESOLVED, k=3)
    top = result.hits[0]
    assert asked_of(RESOLVED, top, result.topic, "What does the last one say is lacking?") == "What does say is lacking?"
    assert asked_of(RESOLVED, top, result.topic, RESOLVED) == RESOLVED  # written by the user: kept
    bare = "What does Metrology for AI risk assessment say?"  # nothing is left but the title: the question stays whole
    bare_result = retriever.search(bare, k=3)
    assert asked_of(bare, bare_result.hits[0], bare_result.topic, "What does the last one say?") == bare


def test_an_ordinal_follow_up_quotes_what_is_asked_of_the_listed_section(assistant):
    first = assistant.answer("Which sections are under Risk Assessment?")
    follow = assistant.answer("What does the last one say is lacking?", [first])
    assert follow.resolved_question == RESOLVED
    assert follow.citations[0].title == "Metrology for AI risk assessment"
    # The card is quoted whole (it is two sentences), led by the sentence that answers what was asked of it, not by
    # the one that repeats the title's words.
    assert "repeatability" in follow.citations[0].sentence and "science of measurement" in follow.body


def test_a_title_the_user_wrote_keeps_the_answer_on_that_section(assistant):
    answer = assistant.answer("What are the limits of explainability?")
    assert {c.title for c in answer.citations} == {"Explainability"}
    assert "unreliable" in answer.body
