"""The page in a real headless Chromium (Debian's, never a downloaded one): answers, source boxes, hostile input."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import ask_in_page, export_feedback, open_chat
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
    fonts: list[str] = []  # and it uses the system's fonts: no web font at all, local or not
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:",
                                                                                  "blob:")) else None)
    page.on("request", lambda r: fonts.append(r.url) if r.resource_type == "font" else None)
    page.outside_requests = outside
    page.font_requests = fonts
    open_chat(page, server)
    try:
        yield page
    finally:
        page.close()


def ask(page, question: str, done_text: str, nth: int = 0) -> None:
    """Type a question, send it, and wait until `done_text` shows in the chat (the nth time)."""
    ask_in_page(page, question, done_text, nth=nth, timeout=60_000)


def rect(locator) -> dict:
    """The element's box on the screen."""
    return locator.evaluate("e => { const r = e.getBoundingClientRect(); "
                            "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; }")


FONT_FAMILIES = """() => {
  const families = new Set();
  for (const el of document.querySelectorAll("body *")) {
    if (!el.offsetParent || el.closest("code, pre, kbd, samp")) continue;  // monospace is meant to differ
    if ([...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) {
      families.add(getComputedStyle(el).fontFamily);
    }
  }
  return [...families];
}"""

COVERING_MESSAGES = """() => {
  // Messages (in view) that a floating header of the chat covers, with the conversation scrolled to its top,
  // its middle and its end: a floating label or toolbar covers whatever scrolls under it.
  const chat = document.querySelector("#chatbot");
  const log = chat.querySelector("[role=log]");
  const top = chat.getBoundingClientRect().top;
  const floating = [...chat.querySelectorAll("*")].filter((el) => {  // a label or toolbar along the chat's top
    if (el.closest(".message-row")) return false;
    const style = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return ["absolute", "fixed", "sticky"].includes(style.position) && style.visibility !== "hidden" &&
      parseFloat(style.opacity) !== 0 && r.width > 0 && r.top < top + 60;
  });
  const covered = [];
  for (const at of [0, (log.scrollHeight - log.clientHeight) / 2, log.scrollHeight]) {
    log.scrollTop = at;
    const view = log.getBoundingClientRect();
    for (const row of chat.querySelectorAll(".message-row")) {
      const m = row.getBoundingClientRect();
      if (m.bottom <= view.top || m.top >= view.bottom) continue;
      for (const el of floating) {
        const r = el.getBoundingClientRect();
        if (r.width && r.height && r.left < m.right && m.left < r.right && r.top < m.bottom && m.top < r.bottom) {
          covered.push(at + ": " + el.tagName + "." + el.className);
        }
      }
    }
  }
  return covered;
}"""


def test_question_gets_an_answer_with_a_code_and_source_boxes(page, artifacts):
    ask(page, "What is the code of the metrology section?", "open a source below")
    chat = page.locator("#chatbot")
    assert "3.2.1" in chat.inner_text()
    box_title = chat.get_by_text("[1] 3.2.1 Benchmarks & Evaluation — Risk Assessment › Metrology").first
    assert box_title.is_visible()
    assert chat.locator(".message-row.bot-row").count() == 1, "the answer and its sources are one message"
    box_title.click()  # open the source box: the supporting sentence is highlighted
    mark = chat.locator("mark").first
    mark.wait_for(state="visible")
    page.wait_for_timeout(500)  # let the box finish opening before the screenshot
    assert mark.inner_text().startswith("Metrology, the science of measurement")
    assert "IAISR, Hobbhahn" in chat.inner_text()
    shot = artifacts / "chat-1280.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert page.outside_requests == []


def test_one_typeface_and_no_web_font(page):
    ask(page, "What is the code of the metrology section?", "open a source below")
    page.locator("#chatbot details.source summary").first.click()
    families = page.evaluate(FONT_FAMILIES)
    assert len(families) == 1, families
    assert "sans-serif" in families[0]
    assert page.font_requests == [] and page.outside_requests == []


def test_opening_a_source_box_brings_it_into_view(page):
    ask(page, "Which sections cite Turpin?", "open a source below")
    ask(page, "What is the code of the metrology section?", "open a source below", nth=1)
    ask(page, "Which sections cite IAISR?", "open a source below", nth=2)
    page.wait_for_timeout(1500)  # the chat scrolls itself to the end while the last answer settles
    log = page.locator("#chatbot [role=log]")
    # Scroll the conversation so that a box's title sits at the bottom edge, its body out of sight: the first
    # title far enough down the conversation for that.
    index = log.evaluate("""log => [...log.querySelectorAll("details.source summary")].findIndex(
        (s) => s.getBoundingClientRect().bottom - log.getBoundingClientRect().top + log.scrollTop > log.clientHeight)""")
    assert index >= 0, "the conversation is taller than its window"
    summary = page.locator("#chatbot details.source summary").nth(index)
    summary.evaluate("""s => { const log = s.closest("[role=log]");
        log.scrollTop += s.getBoundingClientRect().bottom - log.getBoundingClientRect().bottom + 2; }""")
    page.wait_for_timeout(300)
    assert abs(rect(summary)["bottom"] - rect(log)["bottom"]) < 6, "the title sits at the bottom edge"
    summary.click()
    page.wait_for_timeout(400)
    opened, view = rect(page.locator("#chatbot details.source[open]").first), rect(log)
    assert opened["bottom"] - opened["top"] < view["bottom"] - view["top"], "the open box fits the window"
    assert opened["top"] >= view["top"] - 1 and opened["bottom"] <= view["bottom"] + 1, (opened, view)
    assert page.evaluate(COVERING_MESSAGES) == [], "nothing floats over the conversation"


def test_phone_layout_puts_the_input_and_examples_on_the_first_screen(page, artifacts, retriever):
    from consensus_chat.app.panels import example_questions

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload(wait_until="domcontentloaded")
    page.locator("#question textarea").wait_for()
    page.wait_for_timeout(500)
    assert "on the right" not in page.locator("#chatbot").inner_text()
    examples = example_questions(retriever.sections())
    on_screen = [page.locator("#question textarea"), page.locator("#ask")]
    on_screen += [page.get_by_role("button", name=q, exact=True) for q in examples]
    for item in on_screen:
        box = rect(item)
        assert 0 <= box["top"] and box["bottom"] <= 844, (item, box)
    page.screenshot(path=str(artifacts / "empty-390.png"))
    ask(page, "What is the code of the metrology section?", "open a source below")
    page.locator("#chatbot details.source summary").first.click()
    page.wait_for_timeout(500)
    assert page.evaluate(COVERING_MESSAGES) == []
    page.screenshot(path=str(artifacts / "chat-390.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing runs off the side"


def test_refusal_links_the_nearest_sections_in_one_line(page, artifacts):
    ask(page, "Who won the 2022 World Cup?", "Not covered by the document")
    chat = page.locator("#chatbot")
    chat.get_by_text("Nearest sections:").first.wait_for()
    assert chat.locator("details").count() == 0, "no boxes for a refusal"
    links = chat.locator('a[href^="#doc-"]')
    assert 1 <= links.count() <= 3
    paragraph = links.first.locator("xpath=ancestor::p[1]")
    assert paragraph.locator('a[href^="#doc-"]').count() == links.count(), "one line"
    page.screenshot(path=str(artifacts / "refusal-1280.png"))
    target = links.first.get_attribute("href")[1:]
    links.first.click()
    landed = page.locator(f"#{target}")
    landed.wait_for(state="attached")
    page.wait_for_timeout(300)
    assert page.locator("#document").is_visible(), "the Document tab opened"
    box = rect(landed)
    assert -1 <= box["top"] <= 900, box  # scrolled to the top edge, give or take sub-pixel rounding


def test_hostile_question_is_shown_as_text_and_never_runs(page):
    ask(page, HOSTILE, "covered?")
    page.locator("#chatbot").get_by_text("open a source below").or_(
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


def test_example_button_asks_and_filters_apply(page, retriever):
    from consensus_chat.app.panels import example_questions

    sections = retriever.sections()
    first = example_questions(sections)[0]
    key = first.removeprefix("Which sections cite ").removesuffix("?")
    citing = {s.code for s in sections if key in s.citations}
    assert citing, "the first example names a source key the index has"
    page.get_by_role("button", name=first, exact=True).click()
    page.locator("#chatbot").get_by_text("open a source below").first.wait_for(timeout=60_000)
    assert all(code in page.locator("#chatbot").inner_text() for code in citing)
    page.get_by_label("Code starts with").fill("3.2")
    page.wait_for_timeout(300)  # the filter's change event updates the session state
    ask(page, "risk assessment", "risk assessment")
    page.locator("#chatbot").get_by_text("open a source below").nth(1).wait_for(timeout=60_000)
    answer = page.locator("#chatbot").inner_text().split("risk assessment", 1)[1]
    assert "3.2." in answer and "[1] 1.1.2" not in answer and "[1] 2.2.1" not in answer


def test_document_tab_lists_and_filters_sections(page, retriever):
    page.get_by_role("tab", name="Document").click()
    doc = page.locator("#document")
    doc.get_by_text("Metrology for AI risk assessment").wait_for()
    assert re.search(r"^\d+ sections\.", doc.inner_text())
    assert "Risk Assessment › Risk Assessment" not in doc.inner_text()
    page.locator("#doc-search input, #doc-search textarea").first.fill("Turpin")
    doc.get_by_text("sections match").wait_for()
    assert "Metrology for AI risk assessment" not in doc.inner_text()
    assert "LLM chain-of-thought faithfulness and legibility" in doc.inner_text()
    page.get_by_role("tab", name="About").click()
    about = page.locator("#about").inner_text()
    assert "Bengio, Yoshua" in about
    source = next(s for s in retriever.sections() if s.kind == "source")
    assert about.count(source.authors[0]) == 1, "each author is listed once"
    assert f"Authors ({len(set(source.authors))})" in about, "authors are counted once each"


def test_thumbs_down_is_saved_in_the_index_home_and_exported(page, index_dir):
    question = "What does section 3.2.2 say?"
    ask(page, question, "open a source below")
    chat = page.locator("#chatbot")
    chat.locator("button[aria-label='Dislike']").first.click()
    page.get_by_text("your thumbs down is saved").first.wait_for(timeout=30_000)
    lines, _ = export_feedback(index_dir)
    mine = [line for line in lines if line["question"] == question]
    assert mine and mine[-1]["relevant_codes"] == ["3.2.2"] and mine[-1]["kind"] == "in_scope"
