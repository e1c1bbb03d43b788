"""Routing and scope decided by evidence: meta words are not topic, entities only rank, follow-ups recompute.

The first block replays the questions of issue 11 on the shipped page. The second shows the rules
hold on two other pages in the same layout (tests/data), asked through `ask --json`.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import CLI, ROOT


def _first(answer) -> str | None:
    return answer.citations[0].title if answer.citations else None


# -- the shipped page ----------------------------------------------------------------------------

@pytest.mark.parametrize("question", [
    "Who wrote Pride and Prejudice?",
    "What other toppings go well on pizza?",
    "What does the paper say about quantum computing?",
    "What is new in Linux 2.4.1?",
    "What does the document say about watermarking AI outputs?",
    "Who are the authors of the Harry Potter books?",
    "Which label should go on a jar of homemade jam?",
])
def test_cue_words_codes_and_labels_do_not_make_an_off_topic_question_answerable(assistant, question):
    answer = assistant.answer(question)
    assert answer.refused, answer.text
    assert answer.citations == []
    # A refusal stays useful: it names the nearest sections and suggests a rephrasing.
    assert "nearest sections" in answer.text and "rephras" in answer.text


@pytest.mark.parametrize("question, title", [
    ("According to the authors, how can auditors evaluate a model without seeing its parameters?",
     "Secure evaluation infrastructure"),
    ("What is double-blindness in evaluation?", "Secure evaluation infrastructure"),
    ("What does the paper say about the science of measurement?", "Metrology for AI risk assessment"),
    ("According to the report, why do explanation tools often fail?", "Explainability"),
])
def test_meta_words_are_not_topic(assistant, question, title):
    answer = assistant.answer(question)
    assert not answer.refused
    assert _first(answer) == title


def test_measuring_risk_repeatably_is_answered_from_the_risk_cards_not_the_source_record(assistant):
    answer = assistant.answer("What does the report say about measuring risk repeatably?")
    assert not answer.refused
    cited = {c.title for c in answer.citations}
    assert cited & {"Metrology for AI risk assessment", "Risk Assessment"}
    assert all(c.id != "the-singapore-consensus-on-global-ai-safety-research-priorities" for c in answer.citations)


def test_an_abbreviated_question_is_expanded_against_the_vocabulary(retriever):
    result = retriever.search("interp deception; model picks answer B because of a hint", k=3)
    assert result.in_scope
    assert "LLM chain-of-thought faithfulness and legibility" in [h.title for h in result.hits[:2]]
    assert any("interp → interpretability" in n for n in result.notices)


def test_questions_about_the_report_itself_are_answered_from_the_source_record(assistant):
    answer = assistant.answer("Who wrote this report?")
    assert not answer.refused
    assert answer.citations[0].code is None and answer.sources[0].kind == "source"
    assert "2025" in answer.body
    overview = assistant.answer("What does the report say?")
    assert not overview.refused and overview.citations
    assert "research areas" in overview.body


def test_a_code_or_key_alone_is_answered_and_only_ranks(retriever):
    code = retriever.search("3.2.1", k=5)
    assert code.in_scope and {h.code for h in code.hits[:2]} == {"3.2.1"}
    key = retriever.search("Which sections cite Turpin?", k=5)
    assert key.in_scope and key.hits[0].matched_by == "source-key"
    # A code inside an off-topic question lifts nothing into scope.
    assert not retriever.search("What is new in Linux 2.4.1?", k=5).in_scope


def test_a_label_matches_only_when_labels_are_asked_about(retriever):
    assert retriever.search("Which section got the label Other?", k=3).hits[0].matched_by == "label"
    other = retriever.search("What other methods help verify unlearning?", k=3)
    assert all(h.matched_by != "label" for h in other.hits)


def test_a_surname_that_is_a_common_word_needs_corroboration(retriever):
    topic = retriever.analyse("Is Khan Academy good for learning calculus?")
    assert not topic.entities
    assert retriever.analyse("Which sections cite Khan?").kinds() == {"source-key"}
    assert retriever.analyse("Is Dawn Song one of the authors?").kinds() == {"author"}


def test_follow_up_lists_are_recomputed_for_the_new_entity(assistant):
    first = assistant.answer("Which sections cite Turpin?")
    history = [{"role": "user", "content": "Which sections cite Turpin?"}, {"role": "assistant", "content": first.text}]
    second = assistant.answer("and Hobbhahn?", history)
    assert [c.title for c in second.citations] == ["Metrology for AI risk assessment"]
    assert all(c.code != "1.1.2" for c in second.citations)
    third = assistant.answer("and the one on metrology?", history)
    assert third.body != first.body
    assert _first(third) == "Metrology for AI risk assessment"


def test_a_follow_up_with_its_own_topic_stands_alone(assistant):
    history = [{"role": "user", "content": "What does the page say about mechanistic interpretability?"},
               {"role": "assistant", "content": "..."}]
    answer = assistant.answer("tell me more about the chain-of-thought one it mentions", history)
    assert answer.resolved_question == "tell me more about the chain-of-thought one it mentions"
    assert _first(answer) == "LLM chain-of-thought faithfulness and legibility"


def test_spelling_never_rewrites_a_document_word_or_its_inflection(retriever):
    for question in ("Which sections talk about audits?", "Which areas cite sources?", "behaviours of models"):
        assert not any("Also searched for" in n for n in retriever.search(question, k=3).notices), question
    fixed = retriever.search("chain of thougt faithfullness", k=3)
    assert any("thougt → thought" in n for n in fixed.notices)


def test_a_word_one_edit_from_a_document_word_is_read_as_it_unless_english_uses_it_about_as_much(retriever):
    # Two letters swapped ("explian") escape difflib's ratio; "chian" is an English word, but a hundred times
    # rarer than "chain". "audio" is about as common as "audit", so it is taken as meant; "and" is a stopword.
    fixed = retriever.search("explian the problem with chian of thougth faithfullness", k=3)
    assert fixed.in_scope and fixed.hits[0].title == "LLM chain-of-thought faithfulness and legibility"
    assert all(any(f"{a} → {b}" in n for n in fixed.notices) for a, b in [("explian", "explain"), ("chian", "chain")])
    for question in ("audio quality of audits", "hand signals of evaluations"):
        assert not any(f"{question.split()[0]} →" in n for n in retriever.search(question, k=3).notices), question


@pytest.mark.parametrize("uncovered", ["quantum computing", "the EU AI Act"])  # the second: a name it never uses
def test_a_partly_covered_question_answers_the_covered_part_and_says_what_is_not(assistant, uncovered):
    answer = assistant.answer(f"What does the document say about metrology and {uncovered}?")
    assert not answer.refused
    assert _first(answer) == "Metrology for AI risk assessment"
    assert any(uncovered.removeprefix("the ") in n for n in answer.notices)


@pytest.mark.parametrize("question, name", [
    ("What does the EU AI Act require?", "EU AI Act"),  # the name is the whole topic
    ("Which section of the GDPR covers the right to be forgotten?", "GDPR"),
    ("What is new in Linux 2.4.1?", "Linux"),  # an existing code and a common word beside the name
])
def test_a_question_about_what_the_document_never_names_is_refused_and_says_so(assistant, question, name):
    answer = assistant.answer(question)
    assert answer.refused and answer.citations == []
    assert any(name in n and "never mentions" in n for n in answer.notices), answer.notices


@pytest.mark.parametrize("question, names, title", [
    ("How could Meta detect that Llama is hiding its true reasoning in its chain of thought?", ["Meta", "Llama"],
     "LLM chain-of-thought faithfulness and legibility"),
    ("How does RLHF relate to chain-of-thought faithfulness?", ["RLHF"],
     "LLM chain-of-thought faithfulness and legibility"),
])
def test_an_unknown_name_beside_a_covered_topic_is_answered_with_a_note(assistant, question, names, title):
    """A name the document does not know is evidence about that name only (issue 18)."""
    answer = assistant.answer(question)
    assert not answer.refused, answer.text
    assert _first(answer) == title
    assert any("never mentions" in n and all(name in n for name in names) for n in answer.notices), answer.notices


@pytest.mark.parametrize("question, title", [
    ("What does Grosse's work show?", "Attributing model behaviours to training data"),  # a possessive key
    ("Which sections cite casper-b?", "Explainability"),  # lower case, hyphenated
    ("What do the Turpins say about faithful reasoning?", "LLM chain-of-thought faithfulness and legibility"),
])
def test_entities_match_the_way_people_write_them(assistant, question, title):
    answer = assistant.answer(question)
    assert not answer.refused, answer.text
    assert not any("never mentions" in n for n in answer.notices), answer.notices
    assert title in [c.title for c in answer.citations]


@pytest.mark.parametrize("question", [
    "What does Marks say about how systems represent goals?",  # a source key that is an everyday word
    "Why does the AI Safety report care about chain-of-thought faithfulness?",  # "AI": a two-letter acronym
    "Which sections cite Casper-B?",
    "WHY DOES THE PAGE SAY EXPLANATION TOOLS ARE UNRELIABLE?",  # shouted: capitals name nothing
    "What Is The Point Of Chain-Of-Thought Monitoring For Safety?",  # Title Case
])
def test_the_documents_own_names_are_not_unknown_names(assistant, question):
    answer = assistant.answer(question)
    assert not answer.refused, answer.text
    assert not any("never mentions" in n for n in answer.notices)


@pytest.mark.parametrize("question, title", [
    ("safety cases", "Mechanistic interpretability"),  # a phrase only one section uses
    # severity ("What's the point of estimating how bad and how probable a harm is?" ranks it second since the telling
    # words' BM25 joined the ranking, "Why judge how severe and how likely harms are?" since the broad margin rose to
    # 0.3, "Who decides how severe a harm would be?" third since the cosine weighs 1.5: docs/scope.md, "The telling
    # words' BM25", "The broad margin, chosen again" and "The cosine's weight")
    ("What does the text say about attributing a model's output to features of its input?", "Explainability"),
])
def test_word_level_evidence_ranks_paraphrases(retriever, question, title):
    hits = retriever.search(question, k=3).hits
    assert hits[0].title == title, [h.title for h in hits]


def test_the_soft_word_match_pairs_synonyms(embedder):
    """'responsible' is nearer 'accountability' than 'weather' in the model's own word vectors."""
    import Stemmer

    from consensus_chat.ingest.section import Section
    from consensus_chat.retriever.wordmatch import WordMatcher, WordVectors

    sections = [Section(id="a", kind="card", code=None, label=None, title="Accountability", parent=None,
                        text="Determining accountability for failures."),
                Section(id="b", kind="card", code=None, label=None, title="Weather", parent=None,
                        text="Forecasting rain and sunshine for farmers.")]
    matcher = WordMatcher(WordVectors(embedder), {}, 2, Stemmer.Stemmer("english").stemWords)
    soft, phrase = matcher.scores(["responsible", "failures"], sections)
    assert soft["a"] > soft["b"] and phrase == {}
    soft, phrase = matcher.scores(["rain", "forecasting"], sections)
    assert soft["b"] > soft["a"] and phrase == {}
    assert matcher.scores(["forecasting", "rain"], sections)[1] == {"b": pytest.approx(matcher.idf("forecasting"))}


def test_the_stored_calibration_is_keyed_to_the_corpus(retriever, second_page):
    assert retriever.scope_model.source == "fitted"
    assert second_page.retriever.scope_model.source == "default"


def test_no_document_strings_in_the_code(retriever):
    """Titles, labels, keys, authors and eval questions of the shipped page appear in no module."""
    names = set()
    for s in retriever.sections():
        if s.kind == "card":
            names.add(s.title.lower())
        names.update(k.lower() for k in s.citations if len(k) >= 5)
        names.update(a.split(",")[0].lower() for a in s.authors if len(a.split(",")[0]) >= 6)
        if s.kind == "source":
            names.add(s.title.lower())
            names.update(w.lower() for w in s.title.split() if w[:1].isupper() and len(w) >= 9)
    from consensus_chat.ingest.words import META_WORDS

    names -= META_WORDS  # "the consensus", like "the report", says where to look (issue 11)
    questions = [json.loads(line)["question"].lower() for line in
                 (ROOT / "evals" / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    offenders = []
    # The CLI's --help examples (app/cli*.py) document the shipped page on purpose; nothing else may name it.
    for package in ("retriever", "app"):
        for path in (ROOT / package).glob("*.py"):
            if path.name.startswith("cli"):
                continue
            text = path.read_text(encoding="utf-8").lower()
            offenders += [(path.name, n) for n in names if re.search(rf"\b{re.escape(n)}\b", text)]
            offenders += [(path.name, q) for q in questions if len(q) > 25 and q in text]
    assert not offenders, offenders


# -- other pages, through the CLI ---------------------------------------------------------------

def _ask(index: Path, question: str) -> dict:
    proc = subprocess.run([CLI, "ask", question, "--json", "--index-dir", str(index)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def page_indexes(second_page, third_page):
    """Each tests/data page's index: those of conftest's session Assistants."""
    return {"second-page.txt": second_page.config.index_dir, "third-page.txt": third_page.config.index_dir}


# Each page's (question, the title of the section that answers it).
ANSWERED = {
    "second-page.txt": [("Which sections are coded 10.3.12?", "Jailbreak evaluations"),
                        ("Which sections cite Ganguli?", "Third-party red teaming"),
                        ("Who wrote this guide?", "Red Teaming in Practice: A Field Guide"),
                        ("Can language models write attack prompts automatically?", "AI-assisted red teaming")],
    "third-page.txt": [("Which sections cite Leveson?", "Root cause analysis"),
                       ("Who wrote this report?", "Learning from Failure: Incident Reporting for Deployed Systems"),
                       ("How can staff be protected when they reveal safety problems?", "Whistleblower protections"),
                       ("According to the paper, why record events that almost caused harm?", "Near-miss reporting")],
}
OFF_TOPIC = {
    "second-page.txt": ["What is new in Django 4.1.2?", "Who wrote Hamlet?"],
    "third-page.txt": ["What does Marks and Spencer sell?", "What is the best pizza topping?"],
}


@pytest.mark.slow
@pytest.mark.parametrize("page, question, title", [(page, *case) for page, cases in ANSWERED.items() for case in cases])
def test_other_pages_are_answered_from_the_right_section(page_indexes, page, question, title):
    answer = _ask(page_indexes[page], question)
    assert not answer["refused"]
    assert answer["citations"][0]["title"] == title


@pytest.mark.slow
@pytest.mark.parametrize("page, question", [(page, q) for page, questions in OFF_TOPIC.items() for q in questions])
def test_other_pages_refuse_off_topic_questions(page_indexes, page, question):
    answer = _ask(page_indexes[page], question)
    assert answer["refused"] and answer["citations"] == []


@pytest.mark.slow
@pytest.mark.parametrize("page", ["second-page", "third-page"])
def test_other_pages_rank_paraphrases_written_for_them(page_indexes, page):
    """evals/pages/: paraphrases of two other pages, written without reading the ranking's output on them."""
    from consensus_chat.evals.runner import load_questions
    from consensus_chat.retriever import open_retriever

    r = open_retriever(page_indexes[f"{page}.txt"])
    # The 26 of each page written before the word-level ranking was run on them (ids up to 44); the later ones
    # (issue 18's kinds, written before this turn's scope work) are scored by `consensus-chat eval` (docs/scope.md).
    questions = [q for q in load_questions(ROOT / "evals" / "pages" / f"{page}.jsonl")
                 if q.kind == "in_scope" and q.id[2:].isdigit() and int(q.id[2:]) <= 44]
    first = [r.search(q.question, k=5).hits[0].title in q.relevant_titles for q in questions]
    assert len(questions) == 26 and sum(first) / len(first) >= 0.8, sum(first)


def test_word_vectors_of_mixed_sources_are_each_words_own_row(retriever):
    # lookup() gathers document words, everyday words of the table and words it must encode in one array per
    # source and scatters them back by position: each row must be that word's vector, in the order asked.
    import numpy as np

    vectors = retriever._current().matcher.vectors
    document, everyday, unseen = "interpretability", "kitchen", "zqxvbnmw"
    assert vectors.table is not None and vectors.knows(document) and vectors.knows(everyday) and not vectors.knows(unseen)
    words = [document, everyday, unseen, document, everyday]
    together = vectors.lookup(words)
    alone = np.stack([vectors.lookup([w])[0] for w in words])
    assert together.shape == (5, alone.shape[1]) and np.array_equal(together, alone)
    assert not np.allclose(together[0], together[1]) and not np.allclose(together[1], together[2])
