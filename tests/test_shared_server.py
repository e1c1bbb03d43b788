"""Two `consensus-chat serve` processes on one `chroma run`: both answer, and both pick up a new ingest.

With a Chroma server the index pointer is one record on the server (ingest/server_store.py), so every
process reads the same generation; each serve process re-reads that record at most every few seconds
(retriever/reload.py `_SERVER_RECHECK_SECONDS`) and switches when it names a new generation.
"""

from __future__ import annotations

import os
import subprocess
import time


from conftest import CLI, CORPUS, free_port, stop_process
from consensus_chat.evals.procs import ChromaServer, wait_for_http

NEW_TITLE = "Incident databases"
PROBE = "shared incident databases for regulators"
PICKUP_TIMEOUT_S = 60.0  # the recheck is every 5 s; the rest is reading the new generation on 2 busy cores


def _corpus_with_a_new_card(tmp_path):
    text = CORPUS.read_text(encoding="utf-8").replace(
        "3.2.1 Benchmarks & EvaluationThe Singapore Consensus",
        f"3.2.1 Benchmarks & EvaluationRisk Assessment > {NEW_TITLE}\n"
        "Shared incident databases help regulators learn from failures (Newkey).\n"
        "2.2.1 Risk AssessmentThe Singapore Consensus",
    )
    assert NEW_TITLE in text
    path = tmp_path / "edited.txt"
    path.write_text(text, encoding="utf-8")
    return path


def _top_title(client) -> str:
    return client.predict(PROBE, 3, api_name="/search")["hits"][0]["title"]


def test_two_serve_processes_share_one_chroma_server(tmp_path, embedder):
    from gradio_client import Client

    from consensus_chat.ingest.config import Config
    from consensus_chat.ingest.pipeline import ingest

    with ChromaServer(tmp_path / "chroma") as chroma:
        cfg = Config.from_env(index_dir=tmp_path / "client", chroma_host="127.0.0.1", chroma_port=chroma.port)
        first = ingest([CORPUS], cfg, embedder=embedder, quiet=True)
        assert first.added == 14 and first.index.startswith("chroma://")
        ports = [free_port(), free_port()]
        procs = []
        try:
            for n, port in enumerate(ports):
                log = open(tmp_path / f"serve-{n}.log", "wb")
                procs.append(subprocess.Popen(
                    [CLI, "serve", "--port", str(port), "--index-dir", str(cfg.index_dir),
                     "--chroma-host", "127.0.0.1", "--chroma-port", str(chroma.port)],
                    stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, GRADIO_ANALYTICS_ENABLED="False")))
                log.close()
            for port, proc in zip(ports, procs):
                wait_for_http(f"http://127.0.0.1:{port}/", timeout=180, proc=proc)
            clients = [Client(f"http://127.0.0.1:{port}/", verbose=False, httpx_kwargs={"timeout": 60})
                       for port in ports]
            for client in clients:
                reply = client.predict("What is metrology?", [], api_name="/chat")
                assert not reply["refused"] and reply["citations"], reply
                assert reply["sources"][0]["title"] == "Metrology for AI risk assessment"
                assert _top_title(client) != NEW_TITLE

            second = ingest([_corpus_with_a_new_card(tmp_path)], cfg, embedder=embedder, quiet=True)
            assert second.added == 1 and second.index.startswith("chroma://")
            deadline = time.monotonic() + PICKUP_TIMEOUT_S
            pending = set(range(len(clients)))
            while pending and time.monotonic() < deadline:
                pending = {n for n in pending if _top_title(clients[n]) != NEW_TITLE}
                if pending:
                    time.sleep(0.5)
            assert not pending, f"serve process(es) {sorted(pending)} still answer from the old generation"
            for client in clients:
                reply = client.predict("What do shared incident databases help regulators do?", [], api_name="/chat")
                assert NEW_TITLE in [s["title"] for s in reply["sources"]], reply["sources"]
        finally:
            for proc in procs:
                stop_process(proc)
    for n in range(len(ports)):
        assert "Traceback" not in (tmp_path / f"serve-{n}.log").read_text(errors="replace")
