"""Measure ingest, search, answer, cold start and serve speed; write a Markdown report that names the machine.

    python -m evals.bench --out docs/benchmarks.md [--quick] [--queries 200] [--work-dir DIR]

The run, in order (this file): the first run as a new user meets it (the first-ever `ingest` with an
empty model cache, then ingests into new folders with the cache it filled, against `import torch`);
ingest throughput against raw `SentenceTransformer.encode`; query embedding and warm search at the
shipped document, 10,000 and 100,000 generated sections (embedded store and `chroma run`);
extractive answers; cold `ask` against `import torch`; `serve` first HTTP 200, peak RSS after 20
questions and 50 concurrent sessions under a py-spy profile; `serve`'s CPU at idle over 60 s; `--help`.
The pieces: bench_workload.py (what is measured on); how, one module per kind of measurement:
bench_common.py (shared helpers), bench_ingest.py, bench_search.py, bench_cold.py, bench_serve.py,
bench_profile.py (py-spy); bench_report.py (the Markdown), bench_targets.json (the targets, also read
by the CI gate `python -m evals.bench_gate`), procs.py and load.py (shared with the tests). `--quick` ingests and searches 1,000 generated
sections instead of 2,000, 10,000 and 100,000 and uses 60 queries per series, to finish in minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import click

from .bench_cold import measure_cold, measure_help
from .bench_common import OFFLINE_ENV, Heartbeat, log, machine_info, summary, time_calls
from .bench_ingest import ensure_index, measure_first_run, raw_encode_seconds, timed_ingest
from .bench_search import copy_to_server, measure_search
from .bench_serve import measure_idle_serve, measure_serve, measure_shared_serve
from .bench_workload import GENERATED_SEED, BlendedEmbedder, bench_queries, chunk_texts, generate_sections, pool_from_index
from .procs import ChromaServer


def run_bench(quick: bool, n_queries: int, work: Path, embed_all: bool = False) -> dict:
    """Every measurement, in order; returns the raw results the report and the gate read."""
    from consensus_chat.ingest.config import DEFAULT_CORPUS, Config
    from consensus_chat.ingest.embedder import load_embedder, use_embedder
    from consensus_chat.ingest.parser import parse_file

    raw: dict = {"machine": machine_info(), "quick": quick, "n_queries": n_queries}
    log(f"machine: {raw['machine']['cpu']}, {raw['machine']['cores']} cores; work dir {work}")

    embedder = load_embedder()
    real = parse_file(DEFAULT_CORPUS)
    queries = bench_queries(n_queries, real)
    raw_model = embedder.model  # the SentenceTransformer itself, for the raw-encode baseline
    raw["machine"]["torch_threads"] = _torch_threads()
    # 0. The first run, in processes of its own (a fresh model cache, then new index folders).
    log("first run: the first-ever `ingest` (empty model cache), then ingests into new folders")
    raw["first_run"] = measure_first_run(work, runs=2 if quick else 3)
    # 1. Ingest throughput.
    log("ingest: the shipped document")
    cfg_doc = Config.from_env(index_dir=work / "idx-doc")
    doc_s = timed_ingest(cfg_doc, corpus=[DEFAULT_CORPUS])
    doc_texts = chunk_texts(real, embedder)
    raw_model.encode(doc_texts[:4])  # warm the raw model too
    doc_raw = raw_encode_seconds(raw_model, doc_texts)
    n_ingest = 1_000 if quick else 2_000  # --quick: half the sections, same ratio
    log(f"ingest: {n_ingest:,} generated sections")
    gen2k = generate_sections(n_ingest, real, seed=GENERATED_SEED + 2)
    texts2k = chunk_texts(gen2k, embedder)
    raw2k = raw_encode_seconds(raw_model, texts2k)
    cfg2k = Config.from_env(index_dir=work / "idx-2k")
    ing2k = timed_ingest(cfg2k, sections=gen2k)
    raw_rate = len(texts2k) / raw2k  # chunks per second, raw encode
    raw["ingest"] = {
        "doc": {"sections": len(real), "chunks": len(doc_texts), "ingest_s": round(doc_s, 3),
                "raw_encode_s": round(doc_raw, 3)},
        "gen2k": {"sections": len(gen2k), "chunks": len(texts2k), "ingest_s": round(ing2k, 2),
                  "raw_encode_s": round(raw2k, 2)},
    }
    log(f"  doc: {doc_s:.2f}s ingest vs {doc_raw:.2f}s raw; 2k: {ing2k:.1f}s ingest vs {raw2k:.1f}s raw")

    # 2. Query-embedding time (with the encoder searches use), and search at the shipped document.
    from consensus_chat.retriever import open_retriever

    query_encoder = open_retriever(config=cfg_doc).embedder
    log(f"query embedding alone ({query_encoder.kind})")
    embed_ms = time_calls(lambda q: query_encoder.encode([q]), queries)  # uncached, as a search sees a new query
    raw["embed_query"] = summary(embed_ms) | {"encoder": query_encoder.kind}
    search_rows = []
    log("search: shipped document, embedded store")
    search_rows.append(measure_search(cfg_doc, queries, "document, embedded") | {"size": "doc", "store": "embedded"})

    # 3. Answers at the shipped document.
    log("answers: extractive")
    from consensus_chat.app import open_assistant

    assistant = open_assistant(config=cfg_doc)
    answer_ms = time_calls(assistant.answer, queries)
    raw["answer"] = summary(answer_ms)
    del assistant

    # 4. Bigger indexes (--quick searches the 1,000 generated sections instead).
    sizes = [] if quick else [10_000, 100_000]
    size_cfgs = {n_ingest: cfg2k} if quick else {}
    if quick:
        search_rows.append(measure_search(cfg2k, queries, f"{n_ingest:,}, embedded") | {"size": n_ingest, "store": "embedded"})
    else:
        shutil.rmtree(work / "idx-2k", ignore_errors=True)
    for n in sizes:
        log(f"generating {n:,} sections")
        gen = generate_sections(n, real)
        cfg = Config.from_env(index_dir=work / f"idx-{n}")
        blend = n > 10_000 and not embed_all and 10_000 in size_cfgs
        est = (n / raw_rate * 1.2) if not blend else n / 400
        how = "blended stand-in vectors beyond the 10,000 real ones" if blend else "real embeddings"
        log(f"ingest: {n:,} generated sections, {how} (~{est / 60:.1f} min estimated)")
        if blend:
            known, pool = pool_from_index(size_cfgs[10_000])
            stand = BlendedEmbedder(embedder, known, pool)
            with use_embedder(stand):
                secs = ensure_index(cfg, gen, f"{n:,} sections", estimate_s=est)
            del known, pool
        else:
            secs = ensure_index(cfg, gen, f"{n:,} sections", estimate_s=est)
        raw.setdefault("ingest", {})[f"gen{n}"] = {
            "sections": n, "ingest_s": None if secs is None else round(secs, 1),
            "vectors": "real vectors for the first 10,000 texts and blended stand-ins for the rest" if blend else "real",
        }
        del gen
        size_cfgs[n] = cfg
        log(f"search: {n:,} sections, embedded store")
        search_rows.append(measure_search(cfg, queries, f"{n:,}, embedded") | {"size": n, "store": "embedded"})

    # 5. The same indexes on a Chroma server.
    log("starting chroma run")
    with ChromaServer(work / "chroma-server") as server:
        server_cfg = Config.from_env(index_dir=work / "server-client", chroma_host="127.0.0.1", chroma_port=server.port)
        log("search: shipped document, Chroma server")
        timed_ingest(server_cfg, corpus=[DEFAULT_CORPUS])
        search_rows.append(measure_search(server_cfg, queries, "document, server") | {"size": "doc", "store": "server"})
        for n in size_cfgs:
            log(f"copying the {n:,}-section index to the server")
            with Heartbeat(f"copying {n:,} sections"):
                copy_to_server(size_cfgs[n], server_cfg)
            log(f"search: {n:,} sections, Chroma server")
            search_rows.append(measure_search(server_cfg, queries, f"{n:,}, server") | {"size": n, "store": "server"})
    raw["search"] = search_rows

    # 6. Cold start, serve under load, and --help.
    log("cold `ask` against `import torch`")
    raw["cold"] = measure_cold(cfg_doc.index_dir, runs=2 if quick else 3)
    log(f"  {raw['cold']}")
    sessions, per_session = 50, 10  # the load, also in --quick (about half a minute)
    log(f"serve: first HTTP 200, peak RSS after 20 questions, then {sessions} sessions x {per_session} under py-spy")
    raw["serve"], raw["load"], raw["profile"] = measure_serve(cfg_doc.index_dir, queries, sessions=sessions,
                                                             per_session=per_session)
    log(f"  serve {raw['serve']}; load {raw['load']}")
    log("serve at idle: CPU over 60 s with no client")
    raw["idle_serve"] = measure_idle_serve(cfg_doc.index_dir, seconds=60.0)
    log(f"  {raw['idle_serve']}")
    # 7. Two serve processes sharing one Chroma server: the same load split across them, then a new ingest.
    log(f"two `serve` processes on one `chroma run`: {sessions} sessions x {per_session} split across them")
    with ChromaServer(work / "chroma-shared") as server:
        shared_cfg = Config.from_env(index_dir=work / "shared-client", chroma_host="127.0.0.1", chroma_port=server.port)
        timed_ingest(shared_cfg, corpus=[DEFAULT_CORPUS])
        raw["shared_serve"] = measure_shared_serve(shared_cfg, real, queries, sessions=sessions, per_session=per_session)
    log(f"  {raw['shared_serve']}")
    log("consensus-chat --help x10")
    raw["help"] = measure_help(10)
    return raw


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog="""\b
Examples:
  python -m evals.bench --out docs/benchmarks.md --quick     # a few minutes
  python -m evals.bench_gate docs/benchmarks.json            # exit 1 on a missed target
  nohup python -m evals.bench --out docs/benchmarks.md > bench.log 2>&1 &   # with 100,000 sections
""")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Markdown file to write.")
@click.option("--quick", is_flag=True, help="A few minutes: 1,000 generated sections instead of 2,000, 10,000 and 100,000; 60 queries per series.")
@click.option("--queries", "n_queries", type=click.IntRange(20, 1000), default=200, show_default=True,
              help="Queries per latency series.")
@click.option("--embed-all", is_flag=True, help="Embed all 100,000 generated sections with the model (hours on 2 "
              "busy cores) instead of reusing the 10,000 real vectors and blending the rest.")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep indexes here and reuse them next time (default: a temp dir removed at the end).")
def main(out, quick, n_queries, embed_all, work_dir):
    """Measure ingest, search, answer, cold start and serve speed; write a Markdown report naming the machine."""
    # A program's entry point (not library code) may set its own process's environment: offline, no telemetry.
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    from consensus_chat.ingest.errors import ConsensusChatError

    from .bench_report import markdown

    temp = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="cc-bench-")) if temp else Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if quick and n_queries == 200:
        n_queries = 60
    try:
        raw = run_bench(quick, n_queries, work, embed_all)
    except ConsensusChatError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    finally:
        if temp:
            shutil.rmtree(work, ignore_errors=True)
    raw["total_s"] = round(time.monotonic() - started, 1)
    command = "python -m evals.bench --out " + str(out) + (" --quick" if quick else "")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown(raw, command), encoding="utf-8")
    results_json = out.with_suffix(".json")
    results_json.write_text(json.dumps(raw, indent=1, default=str) + "\n", encoding="utf-8")
    log(f"wrote {out} and {results_json} in {raw['total_s']:.0f}s; check targets: python -m evals.bench_gate {results_json}")


if __name__ == "__main__":
    main()
