"""The Blocks page: the chat with filters and examples, the Document tab, About, and the /chat and /search API."""

from __future__ import annotations

import functools

import gradio as gr

from .api import endpoints
from .chat import ANY_LABEL, clear_chat, pick_example, respond, stash_question, update_filters
from .panels import about_markdown, document_markdown, filter_document, section_labels
from .render import escape_text

EXAMPLES = (
    "Which sections cite Turpin?",
    "What is the code of the metrology section?",
    "Who wrote the Singapore Consensus, and when?",
    "How can we tell whether a model's stated reasoning is faithful?",
)

CSS = """
#chatbot mark { background: #fde68a; color: inherit; padding: 0 .1em; }
.backend-note { font-size: .9em; opacity: .85; }
"""


def build_ui(assistant, *, concurrency_limit: int = 4) -> gr.Blocks:
    """The whole app: chat with filters and examples, the Document tab, About, and the /chat and /search API."""
    sections = list(assistant.retriever.sections())
    labels = section_labels(sections)
    run = functools.partial(respond, assistant=assistant)
    events = dict(api_visibility="private", concurrency_id="assistant", concurrency_limit=concurrency_limit)

    with gr.Blocks(title="consensus-chat", fill_height=True) as demo:
        filters = gr.State(update_filters("", ANY_LABEL))
        pending = gr.State("")
        gr.Markdown("# consensus-chat\nAsk the research-priorities document. Answers cite sections by code, "
                    "with the supporting sentence highlighted in each source box.")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="Conversation", elem_id="chatbot", height=560,
                                             sanitize_html=True, allow_tags=False, render_markdown=True,
                                             feedback_options=None, group_consecutive_messages=False,
                                             placeholder="Ask a question, or pick an example on the right.")
                        with gr.Row():
                            box = gr.Textbox(show_label=False, placeholder="Ask about the document…", lines=1,
                                             max_lines=6, scale=5, elem_id="question", autofocus=True)
                            ask = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                        new = gr.Button("New conversation", size="sm")
                    with gr.Column(scale=1, min_width=260):
                        with gr.Accordion("Filters for the next questions", open=True):
                            code = gr.Textbox(label="Code starts with", placeholder="e.g. 2.2", max_lines=1)
                            label = gr.Dropdown(choices=[ANY_LABEL, *labels], value=ANY_LABEL, label="Label")
                        gr.Markdown(f"**Answer backend:** `{escape_text(assistant.backend)}`",
                                    elem_classes="backend-note", elem_id="backend")
                        gr.Markdown("**Try asking**")
                        example_buttons = [gr.Button(q, size="sm") for q in EXAMPLES]
            with gr.Tab("Document", id="document"):
                doc_query = gr.Textbox(label="Search the sections", placeholder="e.g. Turpin, 2.2.1, metrology",
                                       max_lines=1, elem_id="doc-search")
                doc = gr.Markdown(document_markdown(sections), elem_id="document")
            with gr.Tab("About", id="about"):
                gr.Markdown(about_markdown(sections, assistant.backend), elem_id="about")

        for trigger in (box.submit, ask.click):
            trigger(stash_question, [box], [box, pending], api_visibility="private", queue=False).then(
                run, [pending, chatbot, filters], [chatbot], **events)
        for button, question in zip(example_buttons, EXAMPLES):
            button.click(functools.partial(pick_example, question), None, [pending], api_visibility="private",
                         queue=False).then(run, [pending, chatbot, filters], [chatbot], **events)
        new.click(clear_chat, None, [chatbot], api_visibility="private", queue=False)
        code.change(update_filters, [code, label], [filters], api_visibility="private", queue=False)
        label.change(update_filters, [code, label], [filters], api_visibility="private", queue=False)
        doc_query.change(functools.partial(filter_document, sections=sections), [doc_query], [doc],
                         api_visibility="private", queue=False)

        chat, search = endpoints(assistant)
        gr.api(chat, api_name="chat", concurrency_id="assistant", concurrency_limit=concurrency_limit)
        gr.api(search, api_name="search", concurrency_id="assistant", concurrency_limit=concurrency_limit)
    return demo
