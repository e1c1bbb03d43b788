"""The Blocks page: the chat with examples and filters, the Document tab, About, and the /chat, /search and /feedback
API. How it looks is in app/style.py."""

from __future__ import annotations

import functools

import gradio as gr

from .api import endpoints, peer
from .chat import (ANY_LABEL, AnswerLog, clear_chat, pending_turn, pick_example, record_vote, respond, update_filters)
from .feedback import FeedbackError
from .panels import about_markdown, document_markdown, example_questions, filter_document, section_labels
from .render import escape_text
from .style import CSS, JS, theme

__all__ = ["CSS", "JS", "build_ui", "theme"]


class _Idle(gr.Error):
    """Nothing to send (an empty input, or a question is still being answered): the chain stops, nothing is shown."""

    def __init__(self):
        super().__init__("nothing to send", visible=False, print_exception=False)


def start_turn(message, history, busy: bool):
    """The question and a pending answer at once, the input cleared and Ask turned into Stop."""
    shown = pending_turn(message, history)
    if busy or shown is None:
        raise _Idle()
    return "", message, list(history or []), shown, gr.update(visible=False), gr.update(visible=True), True


def end_turn():
    """After the answer: Stop turns back into Ask."""
    return gr.update(visible=True), gr.update(visible=False), False


def stop_turn(prior, question):
    """Stop: the conversation as it was, the question back in the input, Ask again."""
    return list(prior or []), question or "", gr.update(visible=True), gr.update(visible=False), False


def build_ui(assistant, *, concurrency_limit: int = 4) -> gr.Blocks:
    """The whole app: chat with examples and filters, the Document tab, About, and the API endpoints."""
    sections = list(assistant.retriever.sections())
    labels = section_labels(sections)
    examples = example_questions(sections)
    answers = AnswerLog()
    run = functools.partial(respond, assistant=assistant, answers=answers)

    def on_like(history: list, data: gr.LikeData, request: gr.Request) -> None:
        """A thumbs up/down: saved in the index home; the user sees a line either way."""
        try:
            gr.Info(record_vote(history, data.index, data.liked, ratings=assistant.ratings, answers=answers,
                                client=peer(request)))
        except (ValueError, FeedbackError) as exc:
            gr.Warning(str(exc))

    events = dict(api_visibility="private", concurrency_id="assistant", concurrency_limit=concurrency_limit)
    local = dict(api_visibility="private", queue=False)

    with gr.Blocks(title="consensus-chat", fill_height=True) as demo:
        filters = gr.State(update_filters("", ANY_LABEL))
        pending = gr.State("")
        memory = gr.State({})  # this session's answer turns, for follow-ups (app/memory.py)
        prior = gr.State([])  # the conversation before the question being answered
        busy = gr.State(False)
        with gr.Row(elem_id="header"):
            gr.Markdown("# consensus-chat", elem_id="title")
            gr.Markdown("Ask the document. Answers cite sections by code; open a source to see the supporting "
                        "sentence highlighted.", elem_id="intro")
            new = gr.Button("New conversation", size="sm", scale=0, min_width=150, elem_id="new")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        # No label and no toolbar: a floating header covered the top of the conversation.
                        chatbot = gr.Chatbot(show_label=False, elem_id="chatbot", buttons=["copy"],
                                             sanitize_html=True, allow_tags=False, render_markdown=True,
                                             latex_delimiters=[],  # KaTeX would act on document text
                                             feedback_options=("Like", "Dislike"),
                                             group_consecutive_messages=False,
                                             placeholder="Ask a question about the document, or pick an example "
                                                         "below.")
                        with gr.Row(elem_id="ask-row", equal_height=True):
                            box = gr.Textbox(show_label=False, placeholder="Ask a question…", lines=1,
                                             max_lines=6, scale=5, elem_id="question", autofocus=True,
                                             container=False, label="Question")
                            ask = gr.Button("Ask", variant="primary", scale=0, min_width=80, elem_id="ask")
                            stop = gr.Button("Stop", variant="stop", scale=0, min_width=80, elem_id="stop",
                                             visible=False)
                        with gr.Row(elem_id="examples"):
                            example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in examples]
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

        turn_outputs = [box, pending, prior, chatbot, ask, stop, busy]
        answering = []
        for trigger in (box.submit, ask.click):
            started = trigger(start_turn, [box, chatbot, busy], turn_outputs, **local)
            answering.append(started.success(run, [pending, prior, filters, memory], [chatbot], **events))
        for button, question in zip(example_buttons, examples):
            picked = button.click(functools.partial(pick_example, question), None, [box], **local)
            started = picked.then(start_turn, [box, chatbot, busy], turn_outputs, **local)
            answering.append(started.success(run, [pending, prior, filters, memory], [chatbot], **events))
        for event in answering:
            event.then(end_turn, None, [ask, stop, busy], **local)
        stop.click(stop_turn, [prior, pending], [chatbot, box, ask, stop, busy], cancels=answering, **local)
        new.click(clear_chat, None, [chatbot], **local)
        chatbot.like(on_like, [chatbot], None, api_visibility="private")  # queued: toasts need it
        code.change(update_filters, [code, label], [filters], **local)
        label.change(update_filters, [code, label], [filters], **local)
        doc_query.change(functools.partial(filter_document, sections=sections), [doc_query], [doc], **local)

        chat, search, feedback = endpoints(assistant)
        gr.api(chat, api_name="chat", concurrency_id="assistant", concurrency_limit=concurrency_limit)
        gr.api(search, api_name="search", concurrency_id="assistant", concurrency_limit=concurrency_limit)
        gr.api(feedback, api_name="feedback", concurrency_id="feedback", concurrency_limit=2)
    return demo
