"""The login limit keys on the connection's peer address: a forged X-Forwarded-For buys no fresh attempts
unless `serve --forwarded-allow-ips` names the proxy that sets it (issue 20, point 1)."""

from __future__ import annotations

import subprocess

import pytest

from consensus_chat.app import auth
from consensus_chat.app.login import MAX_ATTEMPTS
from conftest import CLI
from test_ui import serving

WRONG = {"username": "alice", "password": "wrong"}


def _users(tmp_path):
    path = tmp_path / "users.txt"
    path.write_text("alice:" + auth.hash_password("s3cret pass") + "\n")
    return path


def _login(url: str, forwarded: str):
    import httpx

    return httpx.post(url + "login", data=WRONG, headers={"X-Forwarded-For": forwarded}, timeout=120).status_code


def _mcp(url: str, forwarded: str):
    import httpx

    return httpx.post(url + "gradio_api/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                      headers={"Accept": "application/json, text/event-stream", "X-Forwarded-For": forwarded},
                      auth=("alice", "wrong"), timeout=120).status_code


@pytest.mark.slow
def test_rotated_forwarded_headers_do_not_reset_the_login_limit(index_dir, tmp_path):
    with serving(index_dir, tmp_path / "serve.log", "--auth-file", str(_users(tmp_path))) as (url, _, _):
        first = [_login(url, f"203.0.113.{n}") for n in range(MAX_ATTEMPTS)]
        assert first == [400] * MAX_ATTEMPTS, first  # checked, and counted against 127.0.0.1
        later = [_login(url, f"198.51.100.{n}") for n in range(21)]
        assert later == [429] * 21, later
        assert [_mcp(url, f"192.0.2.{n}") for n in range(3)] == [429] * 3  # MCP's Basic auth shares the limit


@pytest.mark.slow
def test_a_named_proxy_is_believed(index_dir, tmp_path):
    """With --forwarded-allow-ips the limit is per forwarded client: one client's limit leaves the next alone."""
    args = ("--auth-file", str(_users(tmp_path)), "--forwarded-allow-ips", "127.0.0.1")
    with serving(index_dir, tmp_path / "serve.log", *args) as (url, _, log):
        assert [_login(url, "203.0.113.7") for _ in range(MAX_ATTEMPTS + 1)] == [400] * MAX_ATTEMPTS + [429]
        assert _login(url, "203.0.113.8") == 400
        assert "X-Forwarded-For is believed only from 127.0.0.1" in log.read_text()


def test_forwarded_allow_ips_must_be_addresses():
    proc = subprocess.run([CLI, "serve", "--forwarded-allow-ips", "proxy.local"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "not an IP address or network" in proc.stderr and "Traceback" not in proc.stderr
