"""The page measured in Chromium at 1280x900, 390x844 and in dark mode: axe-core (from the npm registry, installed by
`make browser` into tests/browser/node_modules and injected from disk) finds no serious or critical violation, all on
the first screen, keyboard use, and a question that shows at once with a Stop button while it is answered."""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

import pytest

from conftest import ask_in_page, open_chat
from test_browser import ARGS, CHROMIUM, rect
from test_ui import shared_server

pytestmark = pytest.mark.slow

AXE = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ANSWERED = "What is the code of the metrology section?"
OFF_TOPIC = "Who won the 2022 World Cup?"
STATES = [("1280", {"width": 1280, "height": 900}, "light"), ("390", {"width": 390, "height": 844}, "light"),
          ("dark", {"width": 1280, "height": 900}, "dark")]

CONTRAST = """(el) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => { const [r, g, b] = rgb(c).map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const s = getComputedStyle(el);
  const [a, b] = [lum(s.color), lum(s.backgroundColor)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.fixture(scope="module")
def server(request, index_dir, tmp_path_factory):
    if CHROMIUM is None or not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium (make browser)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make browser` (npm ci in tests/browser)")
    return shared_server(request, index_dir, tmp_path_factory)[0]


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@contextlib.contextmanager
def open_page(browser, server, viewport, scheme="light"):
    """A new page on the web chat, loaded; closed afterwards (which drops any request still held)."""
    page = browser.new_page(viewport=viewport, color_scheme=scheme)
    try:
        page.set_default_timeout(30_000)
        open_chat(page, server)
        page.wait_for_timeout(500)
        yield page
    finally:
        page.close()


# A question asked here waits a moment after its answer shows, for the layout to settle before it is measured.
ask = functools.partial(ask_in_page, settle_ms=300)


def serious_violations(page) -> list:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
        .filter((v) => ["serious", "critical"].includes(v.impact))
        .map((v) => [v.id, v.impact, v.nodes.map((n) => n.target.join(" ") + ": " + n.failureSummary)])""")
    return found


@pytest.mark.parametrize("name, viewport, scheme", STATES)
def test_axe_finds_nothing_serious_after_an_answer_and_a_refusal(browser, server, name, viewport, scheme, artifacts):
    with open_page(browser, server, viewport, scheme) as page:
        on_screen = [page.locator("#question textarea"), page.locator("#ask"), page.locator("#new"),
                     page.locator("#examples button").last]
        for item in on_screen:
            box = rect(item)
            assert 0 <= box["top"] and box["bottom"] <= viewport["height"], (name, item, box)
        field, button = rect(page.locator("#question textarea")), rect(page.locator("#ask"))
        assert abs(field["top"] - button["top"]) <= 4 and abs(field["bottom"] - button["bottom"]) <= 4, \
            "Ask is aligned with the input"
        chat = rect(page.locator("#chatbot"))
        assert chat["bottom"] - chat["top"] >= 0.55 * viewport["height"], "the chat pane uses the height it has"
        page.screenshot(path=str(artifacts / f"page-empty-{name}.png"))
        ask(page, ANSWERED, "open a source below")
        page.locator("#chatbot details.source summary").first.click()
        mark = page.locator("#chatbot mark").first
        mark.wait_for(state="visible")
        assert mark.evaluate(CONTRAST) >= 4.5, "the highlighted sentence is readable"
        page.wait_for_timeout(400)
        page.screenshot(path=str(artifacts / f"page-answer-{name}.png"))
        assert serious_violations(page) == [], (name, "answer with an open source box")
        ask(page, OFF_TOPIC, "Not covered by the document")
        page.screenshot(path=str(artifacts / f"page-refusal-{name}.png"))
        assert serious_violations(page) == [], (name, "refusal")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], "nothing runs off the side"


def test_every_control_is_reachable_by_keyboard_and_source_boxes_open_with_enter(browser, server):
    with open_page(browser, server, {"width": 1280, "height": 900}) as page:
        ask(page, ANSWERED, "open a source below")
        page.locator("#question textarea").focus()
        reached = set()
        for _ in range(80):
            page.keyboard.press("Tab")
            reached.add(page.evaluate("""() => { const e = document.activeElement;
                return e.closest("summary") ? "summary" : e.id || (e.closest("[id]") || {}).id || e.tagName; }"""))
            if "summary" in reached:
                break
        assert "summary" in reached, reached
        assert page.locator("#chatbot details.source[open]").count() == 0
        page.keyboard.press("Enter")
        page.locator("#chatbot details.source[open]").first.wait_for()
        page.locator("#question textarea").focus()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('#ask') !== null"), "Ask follows the input"


def test_the_question_shows_at_once_and_a_second_one_waits(browser, server):
    held = []
    with open_page(browser, server, {"width": 1280, "height": 900}) as page:
        chat = page.locator("#chatbot")
        page.locator("#question textarea").press("Enter")  # empty: ignored quietly
        page.wait_for_timeout(800)
        assert chat.locator(".message-row").count() == 0 and "Can't answer" not in chat.inner_text()
        # Hold the answer on its way to the server: what the page shows meanwhile is the pending state.
        page.route("**/gradio_api/queue/join*", lambda route: held.append(route))
        box = page.locator("#question textarea")
        box.fill(ANSWERED)
        box.press("Enter")
        chat.get_by_text(ANSWERED).wait_for(timeout=5_000)
        chat.get_by_text("Searching the document").wait_for(timeout=5_000)
        assert page.locator("#stop").is_visible() and not page.locator("#ask").is_visible(), "Ask became Stop"
        box.fill("Which sections cite Turpin?")
        box.press("Enter")
        page.wait_for_timeout(800)
        assert chat.get_by_text("Which sections cite Turpin?").count() == 0, "a second question waits"
        for route in held:
            route.continue_()
        held.clear()
        page.unroute("**/gradio_api/queue/join*")
        chat.get_by_text("open a source below").wait_for(timeout=90_000)
        page.locator("#ask").wait_for(state="visible")
        assert not page.locator("#stop").is_visible()
        # Stop: the conversation is as it was and the question is back in the input.
        page.route("**/gradio_api/queue/join*", lambda route: held.append(route))
        box.fill(OFF_TOPIC)
        box.press("Enter")
        page.locator("#stop").wait_for(state="visible")
        page.locator("#stop").click()
        page.locator("#ask").wait_for(state="visible")
        assert chat.get_by_text(OFF_TOPIC).count() == 0 and box.input_value() == OFF_TOPIC
