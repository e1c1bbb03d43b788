"""Every refusal and answer example the docs give is asked through the assistant (issue 18, point 5).

The examples live in one table in docs/scope.md (between the `examples` markers); the README's own examples
of refusals and answers must be rows of it, so a sentence in the README cannot drift from what the build does.
"""

from __future__ import annotations

import re

import pytest

from conftest import ROOT

SCOPE_DOC = ROOT / "docs" / "scope.md"


def _examples() -> list[tuple[str, str, str]]:
    text = SCOPE_DOC.read_text(encoding="utf-8")
    block = text.split("<!-- examples -->", 1)[1].split("<!-- /examples -->", 1)[0]
    rows = []
    for line in block.strip().splitlines()[2:]:  # after the header and its rule
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append((cells[0], cells[1], cells[2] if len(cells) > 2 else ""))
    return rows


EXAMPLES = _examples()


def test_the_table_has_examples_of_both_outcomes():
    assert {outcome for _, outcome, _ in EXAMPLES} == {"answered", "refused"}


@pytest.mark.parametrize("question, outcome, title", EXAMPLES, ids=[q[:40] for q, _, _ in EXAMPLES])
def test_each_documented_example_does_what_the_docs_say(assistant, question, outcome, title):
    answer = assistant.answer(question)
    assert answer.refused == (outcome == "refused"), answer.text
    if title:
        assert answer.citations and answer.citations[0].title == title, [c.title for c in answer.citations]


def test_the_readme_examples_are_rows_of_the_table():
    """Each question the README shows being refused or answered is a row of the examples table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    asked = set(re.findall(r'consensus-chat ask "([^"]+)"', readme))
    asked |= set(re.findall(r'"([^"]+\?)" (?:is|are) (?:refused|answered)', readme))
    asked |= set(re.findall(r'"([^"]+\?)" and "[^"]+\?" are refused', readme))
    asked |= set(re.findall(r'"[^"]+\?" and "([^"]+\?)" are refused', readme))
    documented = {q for q, _, _ in EXAMPLES}
    assert asked, "the README shows no examples: the pattern above no longer finds them"
    assert asked <= documented, sorted(asked - documented)
