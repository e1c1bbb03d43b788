"""The web UI: its callbacks called directly, then a real `consensus-chat serve` driven by gradio_client and MCP."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from consensus_chat.app import api, chat, page, panels, render
from consensus_chat.app.followup import history_pairs
from conftest import CLI, free_port, mcp_session, stop_process, wait_for_port

CODE_QUESTION = "What is the code of the metrology section?"
TURPIN_QUESTION = "Which sections cite Turpin?"
OFF_TOPIC = "Who won the 2022 World Cup?"


def final(messages_stream) -> list[dict]:
    """The last message list a streaming callback yielded."""
    items = list(messages_stream)
    assert items, "respond yielded nothing"
    return items[-1]


def plain(message: dict) -> str:
    """A chat message's text as a reader sees it (without the display escaping)."""
    return render.unescape_text(message["content"])


_BOX = re.compile(r'<details class="source">\n<summary>(.*?)</summary>\n\n(.*?)\n\n</details>', re.DOTALL)


def boxes(messages: list[dict]) -> list[dict]:
    """The source boxes inside the assistant's messages: {"title": the summary as a reader sees it, "content"}."""
    return [{"title": html.unescape(title), "content": body} for m in messages if m["role"] == "assistant"
            for title, body in _BOX.findall(m["content"])]


def nearest_links(messages: list[dict]) -> list[str]:
    """The sections a refusal links to, as a reader sees them."""
    return [render.unescape_text(name) for m in messages if m["role"] == "assistant"
            for name in re.findall(r"\[((?:\\.|[^\]])+)\]\(#doc-", m["content"])]


def answers(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["role"] == "assistant"]


# ---------------------------------------------------------------------------------------------------------------
# Callbacks, called directly with the real assistant


def test_respond_streams_an_answer_with_code_and_a_source_box(assistant):
    yielded = list(chat.respond(CODE_QUESTION, [], {}, assistant=assistant))
    assert len(yielded) >= 2, "the answer should stream (a placeholder first, then the answer)"
    messages = yielded[-1]
    assert messages[0] == {"role": "user", "content": render.escape_text(CODE_QUESTION)}
    main = answers(messages)
    assert len(main) == 1
    assert "3.2.1" in plain(main[0]) and "[1]" in plain(main[0])
    source_boxes = boxes(messages)
    assert source_boxes, "every cited section gets a collapsible source box"
    title = source_boxes[0]["title"]
    assert title.startswith("[1] 3.2.1 Benchmarks & Evaluation — "
                            "Risk Assessment › Metrology for AI risk assessment")
    assert boxes(main) == source_boxes, "the boxes are inside the answer's own message"
    assert "<details open" not in main[0]["content"], "boxes start closed"
    body = plain(source_boxes[0])
    assert "IAISR, Hobbhahn" in body  # the source keys
    assert "<mark>Metrology, the science of measurement" in body  # the supporting sentence, highlighted


def test_respond_turpin_names_the_citing_section(assistant):
    messages = final(chat.respond(TURPIN_QUESTION, [], None, assistant=assistant))
    assert "1.1.2" in plain(answers(messages)[0])
    titles = [b["title"] for b in boxes(messages)]
    assert any("1.1.2" in t and "LLM chain-of-thought faithfulness" in t for t in titles)
    assert any("Turpin" in plain(b) for b in boxes(messages))


def test_one_box_per_cited_section_even_with_repeated_markers(assistant):
    messages = final(chat.respond("How can we tell whether a model's stated reasoning is faithful?", [], {},
                                assistant=assistant))
    titles = [b["title"] for b in boxes(messages)]
    assert titles and len(titles) == len(set(titles))


def test_refusal_is_one_line_and_one_list_of_nearest_sections(assistant):
    messages = final(chat.respond(OFF_TOPIC, [], {}, assistant=assistant))
    main = plain(answers(messages)[0])
    assert main.startswith(render.REFUSAL_LINE)
    assert main.count("Not covered") == 1, "said once"
    assert boxes(messages) == [], "a refusal has no source boxes"
    nearest = [line for line in main.splitlines() if line.startswith("Nearest sections:")]
    assert len(nearest) == 1 and 1 <= nearest[0].count("](#doc-") <= 3, "one compact line of links"


def test_refusal_rendering_from_the_real_refusal_composer(assistant):
    from consensus_chat.app.extractive import refusal

    answer = refusal(OFF_TOPIC, assistant.retriever.search(OFF_TOPIC), assistant.backend)
    messages = [render.answer_message(answer)]
    main = render.unescape_text(messages[0]["content"])
    assert boxes(messages) == []
    head, links_line = main.split("Nearest sections:", 1)
    links = re.findall(r"\[([^\]]+)\]\(#(doc-[\w-]+)\)", links_line)
    assert 1 <= len(links) <= 3
    first = next(h for h in answer.sources if render.anchor(h.id) == links[0][1])
    assert first.title not in head, "the nearest sections are listed once"
    assert first.title in links[0][0] or (first.label or "") in links[0][0]
    assert not re.search("[\U0001F300-\U0001FAFF\u2600-\u27BF]", main), "no emoji"


@pytest.mark.parametrize("empty", ["", "   \n\t ", None])
def test_an_empty_input_is_ignored_quietly(assistant, empty):
    earlier = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert final(chat.respond(empty, earlier, {}, assistant=assistant)) == earlier
    assert final(chat.respond(empty, [], {}, assistant=assistant)) == []


@pytest.mark.parametrize("bad", [12, b"bytes", "\x00\x01\x02"])
def test_bad_question_gives_a_message_not_an_exception(assistant, bad):
    messages = final(chat.respond(bad, [], {}, assistant=assistant))
    assert messages[-1]["role"] == "assistant"
    assert messages[-1]["content"].startswith(render.ERROR_PREFIX)
    assert "Traceback" not in messages[-1]["content"]


def test_control_characters_are_dropped_and_long_questions_truncated(assistant):
    messages = final(chat.respond("\x00Which\x07 sections cite\x1b Turpin?\x7f", [], {}, assistant=assistant))
    assert "1.1.2" in plain(answers(messages)[0])
    long = "metrology " * 10_000  # 100 KB
    messages = final(chat.respond(long, [], {}, assistant=assistant))
    assert len(messages[0]["content"]) < 3000, "the echoed question is cut for display"
    assert "more characters not shown" in messages[0]["content"]
    assert "2000" in plain(answers(messages)[0]), "the retriever's truncation notice is shown"


def test_code_filter_is_passed_to_the_assistant(assistant):
    state = chat.update_filters("3.2", chat.ANY_LABEL)
    assert state == {"code": "3.2", "label": ""}
    messages = final(chat.respond("risk assessment", [], state, assistant=assistant))
    codes = [b["title"].split()[1] for b in boxes(messages)]
    assert codes and all(code.startswith("3.2") for code in codes), codes


def test_label_filter_is_passed_to_the_assistant(assistant):
    state = chat.update_filters("", "Learning Objectives")
    messages = final(chat.respond("What are the risks?", [], state, assistant=assistant))
    titles = [b["title"] for b in boxes(messages)] + nearest_links(messages)
    assert titles and all("Learning Objectives" in t for t in titles), titles


def test_unknown_code_filter_gives_a_message(assistant):
    messages = final(chat.respond("risk", [], {"code": "9.9"}, assistant=assistant))
    text = plain(messages[-1])
    assert messages[-1]["content"].startswith(render.ERROR_PREFIX)
    assert "9.9" in text


def test_follow_up_uses_the_conversation(assistant):
    first = final(chat.respond(CODE_QUESTION, [], {}, assistant=assistant))
    second = final(chat.respond("What does it cite?", first, {}, assistant=assistant))
    follow = plain(answers(second[len(first):])[0])
    assert "IAISR" in follow or "Hobbhahn" in follow, follow


def test_history_pairs_skips_source_boxes_and_unescapes():
    history = [
        {"role": "user", "content": [{"type": "text", "text": render.escape_text("Is <b>x</b> [y] covered?")}]},
        {"role": "assistant", "content": "Answer **one** [1]"},
        {"role": "assistant", "metadata": {"title": "[1] box"}, "content": "section text"},
        {"role": "user", "content": "empty?"},
        {"role": "assistant", "content": f"{render.ERROR_PREFIX} The question is empty"},
    ]
    assert history_pairs(render.plain_history(history)) == [("Is <b>x</b> [y] covered?", "Answer **one** [1]")]
    assert history_pairs(render.plain_history([["q", "a"], ("q2", "a2")])) == [("q", "a"), ("q2", "a2")]
    boxed = [{"role": "user", "content": "q"},
             {"role": "assistant", "content": 'A [1]\n\n<details class="source">\n<summary>📄 [1] x</summary>\n\n'
                                              "section text\n\n</details>"}]
    assert history_pairs(render.plain_history(boxed)) == [("q", "A [1]")], "source boxes are not part of the answer"
    with pytest.raises(ValueError, match="history"):
        render.plain_history("not a list")


@pytest.mark.parametrize("text", [
    '<img src=x onerror="window.__xss=1">', "<script>alert(1)</script>", "[link](javascript:alert(1))",
    "1. list\n# heading\n- item", "a_b*c* `code` $$x$$ | pipe & ampersand \\ backslash",
])
def test_escape_text_is_literal_and_reversible(text):
    escaped = render.escape_text(text)
    assert "<" not in escaped and "](" not in escaped.replace("\\](", "")
    assert render.unescape_text(escaped) == text


def test_safe_markdown_keeps_formatting_but_no_html_links_or_images():
    out = render.safe_markdown("**bold** [1] <script>x</script> [a](javascript:alert(1)) [b](https://example.org) "
                               "![p](http://evil.example/x.png?leak=SECRET) \\[c](http://e.x) www.e.x me@e.x\n"
                               "[r]: http://e.x")
    assert "**bold** \\[1\\]" in out and "<script>" not in out and "&lt;script>" in out
    assert not re.search(r"(?<!\\)[\[\]]", out.replace("\\\\", "")), "every bracket is escaped"
    assert "http://" not in out and "www." not in out and "@" not in out.replace("\\@", ""), "no bare links"
    assert render.unescape_text(out).startswith("**bold** [1] <script>x</script> [a](javascript:")


@pytest.mark.parametrize("text", ["![p](http://evil.example/x.png?from=doc)", "www.evil.example", "a@b.example",
                                  "<https://evil.example>", "[r]: http://evil.example"])
def test_escaped_text_has_no_links(text):
    out = render.escape_text(text)
    assert "http://" not in out and "https://" not in out and "www." not in out and "a@" not in out
    assert render.unescape_text(out) == text


def test_highlight_marks_each_supporting_sentence_and_escapes_the_rest():
    text = "First <b>one</b>. Second sentence here. Third."
    out = render.highlight(text, ["Second sentence here.", "Third."])
    assert out.count("<mark>") == 2 and "&lt;b&gt;" in out and "<b>" not in out


def test_document_lists_every_section_grouped_by_code(assistant):
    sections = assistant.retriever.sections()
    doc = render.unescape_text(panels.document_markdown(sections))
    assert f"{len(sections)} sections." in doc
    headings = [line[4:] for line in doc.splitlines() if line.startswith("### ")]
    card_codes = [h.split()[0] for h in headings if h[0].isdigit()]
    assert card_codes == sorted(card_codes, key=lambda c: tuple(map(int, c.split("."))))
    assert headings[-3:] == ["Source record", "Overview", "Tags"]
    assert "Metrology for AI risk assessment" in doc and "LLM chain-of-thought faithfulness" in doc


def test_document_search_filters_the_list(assistant):
    sections = assistant.retriever.sections()
    doc = render.unescape_text(panels.filter_document("Turpin", sections=sections))
    assert f"1 of {len(sections)} sections match" in doc
    assert "1.1.2 Learning Objectives" in doc and "Metrology" not in doc
    assert "match" in panels.filter_document("no-such-word-anywhere", sections=sections)


def test_about_holds_the_source_record(assistant):
    about = render.unescape_text(panels.about_markdown(assistant.retriever.sections(), assistant.backend))
    assert "The Singapore Consensus on Global AI Safety Research Priorities" in about
    assert "2025" in about and "Bengio, Yoshua" in about and "International AI Safety Report" in about


def test_build_ui_exposes_only_chat_search_and_feedback(assistant):
    demo = page.build_ui(assistant)
    named = demo.get_api_info()["named_endpoints"]
    assert set(named) == {"/chat", "/search", "/feedback"}
    assert [p["parameter_name"] for p in named["/chat"]["parameters"]][:2] == ["question", "history"]
    assert [p["parameter_name"] for p in named["/search"]["parameters"]] == ["query", "k", "mode", "code", "label",
                                                                              "kind"]
    assert [p["parameter_name"] for p in named["/feedback"]["parameters"]] == ["answer_id", "liked", "comment"]


def test_api_functions_raise_clear_errors(assistant):
    import gradio as gr

    assert api.chat_api(CODE_QUESTION, [], assistant=assistant)["citations"][0]["code"] == "3.2.1"
    for bad in ("", 5, None):
        with pytest.raises(gr.Error, match="question"):
            api.chat_api(bad, [], assistant=assistant)
    with pytest.raises(gr.Error, match="k must"):
        api.search_api("risk", 0, assistant=assistant)
    with pytest.raises(gr.Error) as info:
        api.chat_api("risk", "<img src=x>", assistant=assistant)
    assert "<img" not in str(info.value)


# ---------------------------------------------------------------------------------------------------------------
# A real server


@contextlib.contextmanager
def serving(index_dir: Path, log_path: Path, *extra: str, port: int | None = None):
    """Run `consensus-chat serve` on a free port; yield (url, process, log path); always stop it."""
    port = port or free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([CLI, "serve", "--port", str(port), "--index-dir", str(index_dir), *extra],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port, timeout=120, proc=proc)
        yield f"http://127.0.0.1:{port}/", proc, log_path
    finally:
        stop_process(proc)


_SHARED: dict = {}


def shared_server(request, index_dir: Path, tmp_path_factory) -> tuple[str, subprocess.Popen, Path]:
    """One plain `serve` on the session's index for every test module (started once; stopped when pytest ends)."""
    if "server" not in _SHARED:
        stack = contextlib.ExitStack()
        _SHARED["server"] = stack.enter_context(serving(index_dir, tmp_path_factory.mktemp("serve") / "serve.log"))
        request.config.add_cleanup(stack.close)
    return _SHARED["server"]


@pytest.fixture(scope="module")
def server(request, index_dir, tmp_path_factory):
    return shared_server(request, index_dir, tmp_path_factory)


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server[0], verbose=False, httpx_kwargs={"timeout": 60})


@pytest.mark.slow
def test_serve_prints_its_loopback_url(server):
    url, _, log_path = server
    deadline = time.time() + 20
    while f"serving on {url}" not in log_path.read_text() and time.time() < deadline:
        time.sleep(0.2)
    assert f"serving on {url}" in log_path.read_text()
    assert "/gradio_api/mcp/" in log_path.read_text()


@pytest.mark.slow
def test_api_chat_answers_with_a_code_and_sources(client):
    result = client.predict(CODE_QUESTION, [], api_name="/chat")
    assert set(result) >= {"answer", "refused", "backend", "citations", "sources"}
    assert "3.2.1" in result["answer"] and not result["refused"]
    assert result["citations"][0]["code"] == "3.2.1"
    assert any(s["title"] == "Metrology for AI risk assessment" for s in result["sources"])


@pytest.mark.slow
def test_api_chat_follows_up_with_history(client):
    first = client.predict(CODE_QUESTION, api_name="/chat")
    follow = client.predict("What does it cite?", [[CODE_QUESTION, first["answer"]]], api_name="/chat")
    assert "IAISR" in follow["answer"] or "Hobbhahn" in follow["answer"]


@pytest.mark.slow
def test_api_and_mcp_search_take_the_clis_filters(server, client, assistant):
    retriever = assistant.retriever
    cases = [
        (dict(mode="lexical"), dict(mode="lexical")),
        (dict(code="3.2"), dict(codes=["3.2"])),
        (dict(label="Risk Assessment"), dict(labels=["Risk Assessment"])),
        (dict(kind=["source", "overview"]), dict(kinds=["source", "overview"])),
    ]
    for api_args, search_args in cases:
        expected = retriever.search("risk", k=3, **search_args).to_dict()
        assert client.predict("risk", 3, *_search_args(api_args), api_name="/search") == expected, api_args
    assert {h["code"][:3] for h in client.predict("risk", 5, "hybrid", "3.2", api_name="/search")["hits"]} == {"3.2"}
    from gradio_client.exceptions import AppError

    for bad, message in ((("risk", 3, "fuzzy"), "mode must be"), (("risk", 3, "hybrid", "9.9"), "No section has a code"),
                         (("risk", 3, "hybrid", "", "Nope"), "Unknown label"),
                         (("risk", 3, "hybrid", "", "", ["chapter"]), "Unknown kind")):
        with pytest.raises(AppError, match=message):
            client.predict(*bad, api_name="/search")
    found, refused = asyncio.run(asyncio.wait_for(_mcp_search(server[0]), timeout=120))
    assert found.structuredContent == retriever.search("risk", k=3, codes=["3.2"], kinds=["card"],
                                                       mode="dense").to_dict()
    assert refused.isError and "Unknown label" in refused.content[0].text


def _search_args(named: dict) -> list:
    """/search's positional arguments after query and k."""
    order = dict(mode="hybrid", code="", label="", kind=None)
    order.update(named)
    return list(order.values())


async def _mcp_search(url: str):
    async with mcp_session(url) as (session, _):
        found = await session.call_tool("search", {"query": "risk", "k": 3, "mode": "dense", "code": "3.2",
                                                   "kind": ["card"]})
        refused = await session.call_tool("search", {"query": "risk", "label": "Nope"})
        return found, refused


@pytest.mark.slow
def test_api_search_has_the_search_json_shape(client):
    result = client.predict("Turpin", 3, api_name="/search")
    assert set(result) == {"query", "in_scope", "hits"}
    assert 1 <= len(result["hits"]) <= 3
    hit = result["hits"][0]
    assert set(hit) >= {"id", "code", "label", "title", "parent", "kind", "score", "citations", "text"}
    assert hit["code"] == "1.1.2" and "Turpin" in hit["citations"]


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (("", []), "empty"),
    (("   ", None), "empty"),
    ((42, []), "must be text"),
    (("risk", "not a list"), "history"),
])
def test_api_chat_rejects_bad_input_and_keeps_serving(client, args, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/chat")
    assert "3.2.1" in client.predict(CODE_QUESTION, [], api_name="/chat")["answer"]


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (("risk", 0), "k must"), (("risk", 51), "k must"), (("risk", "5"), "k must"), (("", 5), "empty"),
])
def test_api_search_rejects_bad_input(client, args, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/search")


@pytest.mark.slow
def test_api_handles_long_and_binary_text(client):
    long = client.predict("metrology " * 10_000, [], api_name="/chat")
    assert any("2000" in n for n in long["notices"])
    binary = client.predict("\x00\x01\xff\ufffe Which sections cite Turpin?", [], api_name="/chat")
    assert "1.1.2" in binary["answer"]


async def _mcp_session(url: str, auth: tuple[str, str] | None = None):
    async with mcp_session(url, auth) as (session, tools):
        found = await session.call_tool("search", {"query": "Turpin", "k": 2})
        answered = await session.call_tool("chat", {"question": CODE_QUESTION})
        bad = await session.call_tool("chat", {"question": "  "})
        return tools, found, answered, bad


@pytest.mark.slow
def test_mcp_lists_chat_and_search_tools_and_runs_search(server):
    tools, found, _, bad = asyncio.run(asyncio.wait_for(_mcp_session(server[0]), timeout=120))
    assert set(tools) == {"chat", "search", "feedback"}
    assert tools["chat"].inputSchema["required"] == ["question"]
    assert "code" in tools["chat"].description
    assert tools["search"].inputSchema["properties"]["k"]["type"] == "integer"
    assert "1 to 50" in tools["search"].inputSchema["properties"]["k"]["description"]
    assert not found.isError
    text = found.content[0].text
    assert "1.1.2" in text and "Turpin" in text
    assert bad.isError and "empty" in bad.content[0].text


@pytest.mark.slow
def test_mcp_results_are_the_chat_and_search_json_with_an_output_schema(server, client, assistant):
    tools, found, answered, _ = asyncio.run(asyncio.wait_for(_mcp_session(server[0]), timeout=120))
    expected_answer = assistant.answer(CODE_QUESTION).to_dict()
    expected_search = assistant.retriever.search("Turpin", k=2).to_dict()

    def same(value: dict) -> dict:
        """The object without its answer id, which is new for every answer."""
        assert "id" not in value or value["id"].startswith("a-")
        return {k: v for k, v in value.items() if k != "id" or "hits" in value}

    for result, expected, api_name, args in ((answered, expected_answer, "/chat", (CODE_QUESTION, [])),
                                             (found, expected_search, "/search", ("Turpin", 2))):
        assert not result.isError
        assert same(json.loads(result.content[0].text)) == same(expected), "the text item is the JSON object"
        assert same(result.structuredContent) == same(expected), "structuredContent is the same object"
        assert same(client.predict(*args, api_name=api_name)) == same(expected), f"{api_name} returns the same object"
    for name, expected in (("chat", expected_answer), ("search", expected_search)):
        schema = tools[name].outputSchema
        assert schema and schema["type"] == "object", f"{name} declares an output schema"
        assert set(schema["properties"]) == set(expected) and set(schema["required"]) == set(expected)
    chat_schema = tools["chat"].outputSchema
    citation = chat_schema["$defs"][chat_schema["properties"]["citations"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert set(citation["properties"]) >= set(expected_answer["citations"][0])
    hit = chat_schema["$defs"][chat_schema["properties"]["sources"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert set(hit["properties"]) == set(expected_search["hits"][0])


@pytest.mark.slow
def test_view_api_documents_typed_returns(client, assistant):
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    answer = assistant.answer(CODE_QUESTION).to_dict()
    search = assistant.retriever.search("Turpin", k=2).to_dict()
    for endpoint, expected in (("/chat", answer), ("/search", search)):
        returned = info[endpoint]["returns"][0]["type"]
        assert returned["type"] == "object" and set(returned["properties"]) == set(expected), endpoint
    citation = info["/chat"]["returns"][0]["type"]["properties"]["citations"]["items"]
    assert set(citation["properties"]) >= set(answer["citations"][0])
    assert "Any" not in info["/chat"]["returns"][0]["python_type"]["type"]


@pytest.mark.slow
def test_openapi_lists_both_endpoints(server):
    import httpx

    spec = httpx.get(server[0] + "gradio_api/openapi.json", timeout=30)
    if spec.status_code == 404:
        pytest.skip("this Gradio version serves no openapi.json")
    paths = json.dumps(spec.json()["paths"])
    assert "chat" in paths and "search" in paths


def test_examples_come_from_the_index(assistant):
    from consensus_chat.ingest.parser import parse_file

    sections = assistant.retriever.sections()
    examples = panels.example_questions(sections)
    assert len(examples) == 4
    for question in examples:
        answer = assistant.answer(question)
        assert not answer.refused and answer.citations, question
    other = parse_file(Path(__file__).parent / "data" / "second-page.txt")
    other_examples = panels.example_questions(other)
    assert other_examples != examples, "another document gets its own examples"
    keys = {k for s in other for k in s.citations}
    assert any(k in other_examples[0] for k in keys) if keys else True


def test_api_descriptions_take_their_examples_from_the_index(assistant):
    """The /search and MCP descriptions show this index's own code and key; another page shows its own."""
    from consensus_chat.app.api import query_doc, search_doc
    from consensus_chat.ingest.parser import parse_file

    shipped = assistant.retriever.sections()
    assert "such as 2.4.1" in query_doc(shipped) and "e.g. 2.4;" in search_doc(shipped)
    other = parse_file(Path(__file__).parent / "data" / "second-page.txt")
    codes = {s.code for s in other if s.code}
    doc = search_doc(other)
    assert "2.2.1" not in codes and "2.2.1" not in doc
    first = next(s for s in other if s.kind == "card" and s.code)
    assert f"such as {first.code}" in doc and f"such as {first.citations[0]}" in query_doc(other)
    no_codes = [s for s in other if not s.code]
    assert "such as" not in query_doc(no_codes).split("key")[0]


def test_source_lines_never_repeat_the_label(assistant):
    for s in assistant.retriever.sections():
        if s.kind == "card" and s.label:
            line = render.section_line(s.code, s.label, s.parent, s.title)
            assert line.count(s.label) == 1 or s.label in s.title, line
            assert f"{s.label} — {s.label}" not in line


def test_the_api_types_name_exactly_the_to_dict_keys(assistant):
    """/chat, /search and the MCP output schema are typed from app/api.py: they must match `to_dict()`."""
    from typing import get_type_hints

    answer = assistant.answer(CODE_QUESTION).to_dict()
    result = assistant.retriever.search("Turpin", k=2).to_dict()
    assert set(get_type_hints(api.ChatJSON)) == set(answer)
    assert set(get_type_hints(api.CitationJSON)) == set(answer["citations"][0])
    assert set(get_type_hints(api.HitJSON)) == set(answer["sources"][0]) == set(result["hits"][0])
    assert set(get_type_hints(api.SearchJSON)) == set(result)
