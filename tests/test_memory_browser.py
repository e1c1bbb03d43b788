"""The page in a real headless Chromium keeps each answer's turn for the session: a follow-up picks from a list."""

from __future__ import annotations

import pytest

from test_browser import ask, browser_context, page, server  # noqa: F401 - the browser fixtures

pytestmark = pytest.mark.slow


def test_the_page_follows_up_on_the_sections_the_last_answer_listed(page):  # noqa: F811
    ask(page, "Which sections are coded 2.2.1?", "3 sections match")
    ask(page, "Tell me more about the second one", "open a source below", nth=1)
    answer = page.locator("#chatbot .message-row.bot-row").nth(1)
    assert "Not covered" not in answer.inner_text()
    titles = answer.locator("details summary")
    assert titles.count() == 1 and "Downstream impact assessment and forecasting" in titles.first.inner_text()
    ask(page, "and the last one?", "open a source below", nth=2)
    last = page.locator("#chatbot .message-row.bot-row").nth(2).locator("details summary")
    assert last.count() == 1 and "System safety assessment" in last.first.inner_text()
