"""What a newcomer meets first: `ask` without an index says one thing, MCP says which transport it serves, and with
--auth-file a visitor who has not signed in gets the login page and nothing else (no API schema)."""

from __future__ import annotations

import subprocess

import pytest

from consensus_chat.app import auth
from conftest import CLI
from test_ui import serving, shared_server


def test_ask_without_an_index_prints_only_the_no_index_error(tmp_path):
    done = subprocess.run([CLI, "ask", "What is metrology?", "--index-dir", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr
    assert done.stderr.startswith("Error: No index at ") and "has gone" not in done.stderr


@pytest.mark.slow
def test_mcp_is_streamable_http_and_says_so(request, index_dir, tmp_path_factory):
    import httpx

    url, _, log = shared_server(request, index_dir, tmp_path_factory)
    assert httpx.get(url + "gradio_api/mcp/sse", timeout=30).status_code == 406, "an SSE client is refused"
    assert "streamable HTTP only" in log.read_text()


@pytest.mark.slow
def test_the_login_page_carries_no_api_schema(index_dir, tmp_path):
    import httpx

    users = tmp_path / "users.txt"
    users.write_text("alice:" + auth.hash_password("s3cret pass", iterations=1000) + "\n")
    with serving(index_dir, tmp_path / "serve.log", "--auth-file", str(users)) as (url, _, _):
        anonymous = httpx.get(url, timeout=30)
        assert anonymous.status_code == 200 and '"auth_required":true' in anonymous.text
        assert "window.gradio_api_info = null;" in anonymous.text
        for secret in ("named_endpoints", "/chat", "/feedback", "answer_id"):
            assert secret not in anonymous.text, secret
        with httpx.Client(timeout=30) as signed_in:
            assert signed_in.post(url + "login", data={"username": "alice", "password": "s3cret pass"}).is_success
            page = signed_in.get(url).text
        assert "named_endpoints" in page and "/feedback" in page, "a signed-in user gets the whole page"
