"""Which sentence of the page's overview answers a question about the page itself.

The overview is the layout's first part (corpus README, parts 1-3): a page notice, the description of the taxonomy
category the mitigation sits in, the line `Also in <parent>`, the mitigation's description, then `Reasoning` and one
sentence on why it was classified there. A question for the category ("Which category is this page also in?") is
answered by the `Also in` line, one for the reasoning ("Why was it classified there?") by the line after
`Reasoning`; any other by the sentence closest to the question.
"""

from __future__ import annotations

from consensus_chat.ingest.section import ALSO_IN, REASONING

CATEGORY_WORDS = frozenset("category categories parent".split())
CLASSIFIED_WORDS = frozenset("classified classification categorised categorized reasoning reason".split())


def asks_layout(topic) -> bool:
    """The question asks for the page's category or the reasoning for it."""
    return bool((set(topic.meta) | set(topic.words)) & (CATEGORY_WORDS | CLASSIFIED_WORDS))


def reasoning_line(text: str) -> str | None:
    """The overview's line after its bare "Reasoning" heading (None without one)."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return next((after for line, after in zip(lines, lines[1:]) if line == REASONING), None)


def overview_sentence(question: str, topic, text: str, sentences: list[str], scores) -> str:
    """The overview sentence that answers `question` (`text`: the overview's; `scores`: each sentence's closeness)."""
    asked = set(topic.meta) | set(topic.words)
    why = reasoning_line(text)
    first = next((s for s in sentences if why and why.startswith(s)), None)  # its first sentence, as quoted
    if first and asked & CLASSIFIED_WORDS and (question.lstrip().lower().startswith("why") or
                                               asked & {"reasoning", "reason"}):
        return first  # "Why was this classified as it is?", "What is the reasoning for the classification?"
    also = next((s for s in sentences if s.startswith(ALSO_IN)), None)
    if also is not None and asked & CATEGORY_WORDS:
        return also  # "Which category is this page also in?", "What is the parent category?"
    return sentences[int(scores.argmax())]
