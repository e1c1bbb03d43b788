"""The Blocks page: the chat with examples and filters, the Document tab, About, and the /chat and /search API."""

from __future__ import annotations

import functools

import gradio as gr

from .api import endpoints
from .chat import (ANY_LABEL, AnswerLog, clear_chat, pick_example, record_vote, respond, stash_question,
                   update_filters)
from .feedback import FeedbackError, FeedbackStore
from .panels import about_markdown, document_markdown, example_questions, filter_document, section_labels
from .render import escape_text

# System font stacks: the default theme's web font cannot load offline, and its fallback mixed typefaces.
FONT = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans", "DejaVu Sans", "Helvetica Neue", "Arial",
        "sans-serif")
FONT_MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "DejaVu Sans Mono", "Liberation Mono",
             "monospace")

CSS = """
#chatbot mark { background: #fde68a; color: inherit; padding: 0 .1em; }
#chatbot details.source { border: 1px solid var(--border-color-primary); border-radius: 8px; margin: .5em 0;
  padding: .35em .75em; scroll-margin-top: .5em; }
#chatbot details.source > summary { cursor: pointer; font-weight: 600; }
#chatbot .top-panel { display: none !important; }  /* its floating toolbar covered the top message */
#examples button { flex: 0 1 auto; }
.backend-note { font-size: .9em; opacity: .85; }
@media (max-width: 640px) {
  #chatbot { height: 46vh !important; min-height: 0 !important; }
  #intro p { display: none; }
}
"""

# Opening a source box brings it into view; a "Nearest" link in a refusal opens the Document tab at that section.
JS = """
() => {
  document.addEventListener("toggle", (event) => {
    const box = event.target;
    if (box instanceof HTMLDetailsElement && box.open && box.closest("#chatbot")) {
      box.scrollIntoView({block: "nearest", behavior: "instant"});
    }
  }, true);
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('#chatbot a[href^="#doc-"]');
    if (!link) return;
    event.preventDefault();
    const id = link.getAttribute("href").slice(1);
    const tab = [...document.querySelectorAll('button[role="tab"]')].find((b) => b.textContent.trim() === "Document");
    if (tab) tab.click();
    let tries = 0;
    const land = () => {
      const target = document.getElementById(id);
      if (target) target.scrollIntoView({block: "start", behavior: "instant"});
      else if (tries++ < 40) setTimeout(land, 50);
    };
    land();
  }, true);
}
"""


def theme() -> gr.themes.Base:
    """The default theme with system fonts only, so nothing asks for a web font."""
    return gr.themes.Default(font=list(FONT), font_mono=list(FONT_MONO))


def build_ui(assistant, *, concurrency_limit: int = 4) -> gr.Blocks:
    """The whole app: chat with examples and filters, the Document tab, About, and the /chat and /search API."""
    sections = list(assistant.retriever.sections())
    labels = section_labels(sections)
    examples = example_questions(sections)
    answers = AnswerLog()
    store = FeedbackStore(assistant.config.index_dir)
    run = functools.partial(respond, assistant=assistant, answers=answers)

    def on_like(history: list, data: gr.LikeData) -> None:
        """A thumbs up/down: saved in the index home; the user sees a line either way."""
        try:
            gr.Info(record_vote(history, data.index, data.liked, store=store, answers=answers,
                                backend=assistant.backend))
        except (ValueError, FeedbackError) as exc:
            gr.Warning(str(exc))

    events = dict(api_visibility="private", concurrency_id="assistant", concurrency_limit=concurrency_limit)

    with gr.Blocks(title="consensus-chat", fill_height=True) as demo:
        filters = gr.State(update_filters("", ANY_LABEL))
        pending = gr.State("")
        memory = gr.State({})  # this session's answer turns, for follow-ups (app/memory.py)
        gr.Markdown("## consensus-chat\nAsk the document. Answers cite sections by code; open a source to see the "
                    "supporting sentence highlighted.", elem_id="intro")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        # No label and no toolbar: a floating header covered the top of the conversation.
                        chatbot = gr.Chatbot(show_label=False, elem_id="chatbot", height=560, buttons=["copy"],
                                             sanitize_html=True, allow_tags=False, render_markdown=True,
                                             feedback_options=("Like", "Dislike"),
                                             group_consecutive_messages=False,
                                             placeholder="Ask a question about the document, or pick an example "
                                                         "below.")
                        with gr.Row():
                            box = gr.Textbox(show_label=False, placeholder="Ask a question…", lines=1,
                                             max_lines=6, scale=5, elem_id="question", autofocus=True)
                            ask = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="ask")
                        with gr.Row(elem_id="examples"):
                            example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in examples]
                        new = gr.Button("New conversation", size="sm")
                    with gr.Column(scale=1, min_width=260):
                        with gr.Accordion("Filters for the next questions", open=True):
                            code = gr.Textbox(label="Code starts with", placeholder="e.g. 2.2", max_lines=1)
                            label = gr.Dropdown(choices=[ANY_LABEL, *labels], value=ANY_LABEL, label="Label")
                        gr.Markdown(f"**Answer backend:** `{escape_text(assistant.backend)}`",
                                    elem_classes="backend-note", elem_id="backend")
            with gr.Tab("Document", id="document"):
                doc_query = gr.Textbox(label="Search the sections", placeholder="words, a code or a cited source key",
                                       max_lines=1, elem_id="doc-search")
                doc = gr.Markdown(document_markdown(sections), elem_id="document")
            with gr.Tab("About", id="about"):
                gr.Markdown(about_markdown(sections, assistant.backend), elem_id="about")

        for trigger in (box.submit, ask.click):
            trigger(stash_question, [box], [box, pending], api_visibility="private", queue=False).then(
                run, [pending, chatbot, filters, memory], [chatbot], **events)
        for button, question in zip(example_buttons, examples):
            button.click(functools.partial(pick_example, question), None, [pending], api_visibility="private",
                         queue=False).then(run, [pending, chatbot, filters, memory], [chatbot], **events)
        new.click(clear_chat, None, [chatbot], api_visibility="private", queue=False)
        chatbot.like(on_like, [chatbot], None, api_visibility="private")  # queued: toasts need it
        code.change(update_filters, [code, label], [filters], api_visibility="private", queue=False)
        label.change(update_filters, [code, label], [filters], api_visibility="private", queue=False)
        doc_query.change(functools.partial(filter_document, sections=sections), [doc_query], [doc],
                         api_visibility="private", queue=False)

        chat, search = endpoints(assistant)
        gr.api(chat, api_name="chat", concurrency_id="assistant", concurrency_limit=concurrency_limit)
        gr.api(search, api_name="search", concurrency_id="assistant", concurrency_limit=concurrency_limit)
    return demo
