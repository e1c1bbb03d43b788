"""The page in a real headless Chromium (Debian's, never a downloaded one): answers, source boxes, hostile input."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from test_ui import shared_server


def chromium_path() -> Path | None:
    """Debian's Chromium: $CHROMIUM if set, else `chromium` on the PATH."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    return Path(found) if found else None


CHROMIUM = chromium_path()
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
HOSTILE = ('Is <img src=x onerror="window.__xss=1"> or <script>window.__xss2=1</script> '
           "or [link](javascript:window.__xss3=1) covered?")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(request, index_dir, tmp_path_factory):
    if CHROMIUM is None or not CHROMIUM.exists():
        if os.geteuid() != 0:
            pytest.skip("needs Debian's chromium: run `make browser` as root (apt-get install chromium)")
        pytest.fail("chromium is not on the PATH (and $CHROMIUM is not set); `make test` installs it (make browser)")
    return shared_server(request, index_dir, tmp_path_factory)[0]


@pytest.fixture(scope="module")
def browser_context(server, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            user_data_dir=str(profile), executable_path=str(CHROMIUM), headless=True, args=ARGS,
            viewport={"width": 1280, "height": 900}, timeout=60_000)
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context, server):
    page = browser_context.new_page()
    outside: list[str] = []  # the app must work offline: no fonts, scripts or analytics from elsewhere
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:",
                                                                                  "blob:")) else None)
    page.outside_requests = outside
    page.goto(server, wait_until="domcontentloaded")
    page.locator("#question textarea").wait_for()
    try:
        yield page
    finally:
        page.close()


def ask(page, question: str, done_text: str) -> None:
    """Type a question, send it, and wait until `done_text` shows in the chat."""
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.locator("#chatbot").get_by_text(done_text).first.wait_for(timeout=60_000)


def test_question_gets_an_answer_with_a_code_and_source_boxes(page, artifacts):
    ask(page, "What is the code of the metrology section?", "open the boxes below")
    chat = page.locator("#chatbot")
    assert "3.2.1" in chat.inner_text()
    box_title = chat.get_by_text("[1] 3.2.1 Benchmarks & Evaluation — Risk Assessment › Metrology").first
    assert box_title.is_visible()
    box_title.click()  # open the source box: the supporting sentence is highlighted
    mark = chat.locator("mark").first
    mark.wait_for(state="visible")
    page.wait_for_timeout(500)  # let the box finish opening before the screenshot
    assert mark.inner_text().startswith("Metrology, the science of measurement")
    assert "IAISR, Hobbhahn" in chat.inner_text()
    shot = artifacts / "chat.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert page.outside_requests == []


def test_hostile_question_is_shown_as_text_and_never_runs(page):
    ask(page, HOSTILE, "covered?")
    page.locator("#chatbot").get_by_text("open the boxes below").or_(
        page.locator("#chatbot").get_by_text("Not covered by the document")).first.wait_for(timeout=60_000)
    page.wait_for_timeout(500)
    assert page.evaluate("[typeof window.__xss, typeof window.__xss2, typeof window.__xss3]") == \
        ["undefined"] * 3
    text = page.locator("#chatbot").inner_text()
    assert '<img src=x onerror="window.__xss=1">' in text
    assert "<script>window.__xss2=1</script>" in text
    assert "[link](javascript:window.__xss3=1)" in text
    html = page.locator("#chatbot").inner_html()
    assert "<img src=\"x\"" not in html and "<script>window" not in html
    assert page.locator("#chatbot a[href^='javascript:']").count() == 0


def test_example_button_asks_and_filters_apply(page):
    page.get_by_role("button", name="Which sections cite Turpin?").click()
    page.locator("#chatbot").get_by_text("open the boxes below").first.wait_for(timeout=60_000)
    assert "1.1.2" in page.locator("#chatbot").inner_text()
    page.get_by_label("Code starts with").fill("3.2")
    page.wait_for_timeout(300)  # the filter's change event updates the session state
    ask(page, "risk assessment", "risk assessment")
    page.locator("#chatbot").get_by_text("open the boxes below").nth(1).wait_for(timeout=60_000)
    answer = page.locator("#chatbot").inner_text().split("risk assessment", 1)[1]
    assert "3.2." in answer and "[1] 1.1.2" not in answer and "[1] 2.2.1" not in answer


def test_document_tab_lists_and_filters_sections(page):
    page.get_by_role("tab", name="Document").click()
    doc = page.locator("#document")
    doc.get_by_text("Metrology for AI risk assessment").wait_for()
    assert re.search(r"^\d+ sections\.", doc.inner_text())
    page.locator("#doc-search input, #doc-search textarea").first.fill("Turpin")
    doc.get_by_text("sections match").wait_for()
    assert "Metrology for AI risk assessment" not in doc.inner_text()
    assert "LLM chain-of-thought faithfulness and legibility" in doc.inner_text()
    page.get_by_role("tab", name="About").click()
    assert "Bengio, Yoshua" in page.locator("#about").inner_text()
