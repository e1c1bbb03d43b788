"""Bad input on the command line and through the API: one clear line, exit 2, nothing lost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import CLI, copy_index, open_files, overwrite_rows
from consensus_chat.ingest.errors import ConsensusChatError, QueryError


def run(*args, timeout=120, **kw):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout, **kw)


def test_100kb_question_is_truncated_with_a_notice(index_dir, assistant):
    big = "What is metrology? " * 5300  # about 100 KB
    assert len(big.encode()) >= 100_000
    proc = run("search", big, "--json", "--index-dir", str(index_dir))
    assert proc.returncode == 0 and "only the first 2000" in proc.stderr
    assert len(json.loads(proc.stdout)["query"]) == 2000
    answer = assistant.answer(big)  # answered (or refused) normally, with the notice, never an error
    assert answer.sources and any("2000" in n for n in answer.notices)


def test_binary_and_control_characters_are_stripped(index_dir, retriever):
    junk = "metrology\x00\x01\x02\x7f\x9f\u200b"
    proc = run("search", "metrology\x01\x02\x7f", "--json", "--index-dir", str(index_dir))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hits"][0]["title"] == "Metrology for AI risk assessment"
    assert "\x00" not in retriever.search(junk).query
    with pytest.raises(QueryError):
        retriever.search("\x00\x01\x02")  # nothing left after stripping: empty


def test_binary_corpus_file_is_refused(tmp_path, index_dir):
    path = tmp_path / "image.bin"
    path.write_bytes(bytes(range(256)) * 10)
    proc = run("ingest", "--corpus", str(path), "--index-dir", str(index_dir))
    assert proc.returncode == 2 and str(path) in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_options_are_usage_errors(index_dir):
    proc = run("search", "x", "--mode", "fuzzy", "--index-dir", str(index_dir))
    assert proc.returncode == 2 and "Invalid value" in proc.stderr
    proc = run("search", "x", "-k", "many")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_errors_are_documented_exception_types(retriever):
    with pytest.raises(QueryError) as info:
        retriever.search("x", codes=["42.42"])
    assert isinstance(info.value, ValueError) and isinstance(info.value, ConsensusChatError)


def test_help_has_examples_for_every_command():
    for command in ("sections", "ingest", "search", "ask", "serve", "eval"):
        proc = run(command, "--help")
        assert proc.returncode == 0 and "Examples:" in proc.stdout and f"consensus-chat {command}" in proc.stdout


def test_no_telemetry():
    from consensus_chat.ingest.store_base import chroma_settings as _settings

    assert _settings().anonymized_telemetry is False
    env = {k: v for k, v in os.environ.items() if k not in ("GRADIO_ANALYTICS_ENABLED", "ANONYMIZED_TELEMETRY")}
    code = ("import os; from click.testing import CliRunner; from consensus_chat.app.cli import main; "
            "CliRunner().invoke(main, ['sections', '--json']); "
            "print(os.environ['GRADIO_ANALYTICS_ENABLED'], os.environ['ANONYMIZED_TELEMETRY'])")
    proc = subprocess.run([os.path.join(os.path.dirname(CLI), "python"), "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.stdout.split() == ["False", "False"], proc.stderr


# -- The fault table (issue 10): each fault a user or the disk can cause gets one clear line and exit 2 ----------


@dataclass(frozen=True)
class Fault:
    """One row: how to break things, the command, the message's key words, and what must hold afterwards."""

    name: str
    setup: Callable[[Path, Path], dict]  # (index copy, tmp dir) -> extra environment
    args: tuple  # the command; "{idx}" and "{tmp}" are filled in; bytes are passed through as bytes
    words: tuple[str, ...]
    absent: tuple[str, ...] = ()
    after: str = "answers"  # "answers": the index still answers; "repair": `repair` fixes it; "": nothing to check
    repair: tuple = ("ingest", "--rebuild", "--quiet", "--index-dir", "{idx}")
    repair_cli: bool = False  # run `repair` as a command (slow: loads the model), else the same ingest in-process
    code: int = 2  # 0 for a fault the command repairs or works around itself (the words are then in its stderr)
    check: Callable[[Path, Path], None] | None = None  # (index copy, tmp dir): what else must hold after the command


def _generation(idx: Path) -> Path:
    return idx / json.loads((idx / "manifest.json").read_text())["generation"]


def _random_manifest(idx, tmp):
    (idx / "manifest.json").write_bytes(bytes([0x83, 0xff, 0x00, 0x9c]) + os.urandom(200))
    return {}


def _manifest_without_model(idx, tmp):
    manifest = json.loads((idx / "manifest.json").read_text())
    del manifest["model"]
    (idx / "manifest.json").write_text(json.dumps(manifest))
    return {}


def _delete_sqlite(idx, tmp):
    (_generation(idx) / "chroma.sqlite3").unlink()
    return {}


def _truncate_sqlite(idx, tmp):
    os.truncate(_generation(idx) / "chroma.sqlite3", 1000)
    return {}


def _home_is_a_file(idx, tmp):
    (tmp / "a-file").write_text("not a directory")
    return {"CONSENSUS_CHAT_HOME": str(tmp / "a-file")}


def _home_under_a_file(idx, tmp):
    (tmp / "a-file").write_text("not a directory")
    return {"CONSENSUS_CHAT_HOME": str(tmp / "a-file" / "index")}


def _huge_sparse_corpus(idx, tmp):
    with open(tmp / "huge.txt", "wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: 200 MB to read, nothing on disk
    return {}


def _nothing(idx, tmp):
    return {}


def _victim(tmp) -> tuple[Path, str]:
    """A second, healthy index beside the copy (what a manifest of the copy must never reach)."""
    return tmp / "victim", json.loads((tmp / "victim" / "manifest.json").read_text())["generation"]


_VICTIMS: dict[Path, dict[str, bytes]] = {}  # each test's other index, as it was before the command


def _make_victim(idx, tmp) -> str:
    shutil.copytree(idx, tmp / "victim")
    name = _victim(tmp)[1]
    _VICTIMS[tmp] = _fingerprint(tmp / "victim" / name)
    return name


def _manifest_points_outside(idx, tmp):
    _make_victim(idx, tmp)
    manifest = json.loads((idx / "manifest.json").read_text())
    manifest["generation"] = f"../victim/{_victim(tmp)[1]}"
    (idx / "manifest.json").write_text(json.dumps(manifest))
    return {}


def _manifest_points_to_a_symlink(idx, tmp):
    (idx / "gen-elsewhere").symlink_to(tmp / "victim" / _make_victim(idx, tmp), target_is_directory=True)
    manifest = json.loads((idx / "manifest.json").read_text())
    manifest["generation"] = "gen-elsewhere"
    (idx / "manifest.json").write_text(json.dumps(manifest))
    return {}


def _fingerprint(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _victim_untouched(idx, tmp):
    victim, name = _victim(tmp)
    assert _fingerprint(victim / name) == _VICTIMS[tmp], "the other index was modified"


def _random_checksums(idx, tmp):
    (_generation(idx) / "search-parts" / "checksums.json").write_bytes(b"\x84\xff" + os.urandom(300))
    return {}


def _parts_whole_again(idx, tmp):
    from consensus_chat.ingest.saved_parts import load_parts

    manifest = json.loads((idx / "manifest.json").read_text())
    load_parts(_generation(idx), manifest["generation"], manifest["chunks"])  # raises when still damaged


def _fifo_corpus(idx, tmp):
    os.mkfifo(tmp / "pipe.txt")
    return {}


def _crash_leftovers(idx, tmp):
    """What a kill after `manifest-temp-written` leaves: a newer generation nothing points to, and a temp manifest."""
    shutil.copytree(_generation(idx), idx / "gen-99991231-235959-dead00")
    shutil.copy(idx / "manifest.json", idx / "manifest.tmp-4242")
    return {}


def _no_leftovers(idx, tmp):
    assert not (idx / "gen-99991231-235959-dead00").exists() and not list(idx.glob("manifest.tmp-*"))
    assert _generation(idx).is_dir()


def _word_table_with_nan(idx, tmp):
    """The user's word-vector cache, copied, with NaN rows written in place (same shape, same size)."""
    import numpy as np

    from consensus_chat.ingest.wordtable import cache_dir

    shutil.copytree(cache_dir(), tmp / "cache")  # the whole per-model cache: only the word table is damaged
    table = next((tmp / "cache" / "word-vectors").glob("*.head.npy"))  # the table a search reads (not older files)
    overwrite_rows(table, np.nan, every=3)
    return {"CONSENSUS_CHAT_CACHE": str(tmp / "cache")}


def _word_table_with_nan_and_its_checksum(idx, tmp):
    """NaN rows whose checksum was recomputed, as an encoder that returned NaN would leave them."""
    from consensus_chat.ingest.embedder import sha256_file

    env = _word_table_with_nan(idx, tmp)
    table = next((tmp / "cache" / "word-vectors").glob("*.head.npy"))
    table.with_suffix(".sha256").write_text(f"{sha256_file(table)}\n{sha256_file(table.with_suffix('.txt'))}\n")
    return env


def _word_table_whole(idx, tmp):
    import numpy as np

    table = next((tmp / "cache" / "word-vectors").glob("*.head.npy"))
    assert np.isfinite(np.load(table).astype("float32")).all(), "the damaged word-vector cache was not rebuilt"


FAULTS = [
    Fault("manifest of random bytes: search", _random_manifest, ("search", "metrology", "--index-dir", "{idx}"),
          ("manifest.json", "damaged", "ingest --rebuild"), after="repair", repair_cli=True),
    Fault("manifest of random bytes: ingest", _random_manifest, ("ingest", "--quiet", "--index-dir", "{idx}"),
          ("manifest.json", "damaged", "ingest --rebuild"), after="repair"),
    Fault("manifest without model: search", _manifest_without_model, ("search", "metrology", "--index-dir", "{idx}"),
          ("manifest.json", "damaged", "model"), ("KeyError",), after="repair"),
    Fault("manifest without model: ingest", _manifest_without_model, ("ingest", "--quiet", "--index-dir", "{idx}"),
          ("manifest.json", "damaged", "model"), ("KeyError",), after="repair"),
    Fault("chroma.sqlite3 deleted: search", _delete_sqlite, ("search", "metrology", "--index-dir", "{idx}"),
          ("missing", "ingest --rebuild"), after="repair", repair=("ingest", "--quiet", "--index-dir", "{idx}")),
    Fault("chroma.sqlite3 truncated: search", _truncate_sqlite, ("search", "metrology", "--index-dir", "{idx}"),
          ("damaged", "ingest --rebuild"), after="repair", repair=("ingest", "--quiet", "--index-dir", "{idx}")),
    Fault("CONSENSUS_CHAT_HOME is a file: search", _home_is_a_file, ("search", "metrology"),
          ("a-file is a file", "CONSENSUS_CHAT_HOME")),
    Fault("CONSENSUS_CHAT_HOME is a file: ingest", _home_is_a_file, ("ingest", "--quiet"),
          ("a-file is a file", "CONSENSUS_CHAT_HOME")),
    Fault("CONSENSUS_CHAT_HOME under a file: ingest", _home_under_a_file, ("ingest", "--quiet"),
          ("a-file is a file", "CONSENSUS_CHAT_HOME")),
    Fault("CONSENSUS_CHAT_HOME under a file: serve", _home_under_a_file, ("serve", "--port", "0"),
          ("a-file is a file", "CONSENSUS_CHAT_HOME")),
    Fault("--index-dir under a file: search", _home_is_a_file, ("search", "x", "--index-dir", "{tmp}/a-file/idx"),
          ("a-file is a file",)),
    Fault("corpus is /dev/zero", _nothing, ("ingest", "--corpus", "/dev/zero", "--index-dir", "{idx}"),
          ("/dev/zero", "character device", "not a regular file")),
    Fault("corpus is a 200 MB file", _huge_sparse_corpus,
          ("ingest", "--corpus", "{tmp}/huge.txt", "--index-dir", "{idx}"), ("huge.txt", "larger than", "MB")),
    Fault("sections of /dev/zero", _nothing, ("sections", "--corpus", "/dev/zero"), ("not a regular file",), after=""),
    Fault("question of invalid bytes only", _nothing, (b"ask", b"\xff\xfe", b"--index-dir", b"{idx}"),
          ("empty",)),
    Fault("empty question, refused before the index is opened", _nothing,
          ("ask", "", "--index-dir", "{tmp}/no-index-here"), ("empty",), ("No index",), after=""),
    Fault("control characters only: search", _nothing, ("search", "\x01\x02\x1b", "--index-dir", "{tmp}/no-index"),
          ("empty",), ("No index",), after=""),
    # Issue 20.
    Fault("manifest generation outside the index: search", _manifest_points_outside,
          ("search", "metrology", "--index-dir", "{idx}"), ("manifest.json", "damaged", "inside", "ingest --rebuild"),
          after="repair", check=_victim_untouched),
    Fault("manifest generation outside the index: ingest", _manifest_points_outside,
          ("ingest", "--quiet", "--index-dir", "{idx}"), ("manifest.json", "damaged", "inside"), after="repair",
          check=_victim_untouched),
    Fault("manifest generation is a symlink out of the index: search", _manifest_points_to_a_symlink,
          ("search", "metrology", "--index-dir", "{idx}"), ("manifest.json", "damaged", "gen-elsewhere"),
          after="repair", check=_victim_untouched),
    Fault("checksums.json of random bytes: search", _random_checksums, ("search", "metrology", "--index-dir", "{idx}"),
          ("checksums.json", "damaged"), ("codec",), code=0),
    Fault("checksums.json of random bytes: ingest rewrites it", _random_checksums,
          ("ingest", "--quiet", "--index-dir", "{idx}"), ("checksums.json", "Rewriting"), ("codec",), code=0,
          check=_parts_whole_again),
    Fault("crash leftovers: ingest with nothing to do removes them", _crash_leftovers,
          ("ingest", "--quiet", "--index-dir", "{idx}"), (), code=0, check=_no_leftovers),
    Fault("corpus is a named pipe: sections", _fifo_corpus, ("sections", "--corpus", "{tmp}/pipe.txt"),
          ("pipe.txt", "named pipe", "not a regular file"), after=""),
    Fault("corpus is a named pipe: ingest", _fifo_corpus,
          ("ingest", "--corpus", "{tmp}/pipe.txt", "--index-dir", "{idx}"), ("pipe.txt", "named pipe")),
    Fault("question of punctuation only", _nothing, ("ask", "?!.,;:...---", "--index-dir", "{tmp}/no-index"),
          ("empty", "punctuation"), ("No index",), after=""),
    Fault("word-vector cache of NaN rows: search", _word_table_with_nan,
          ("search", "metrology of everyday bridges", "--index-dir", "{idx}"), ("Ignoring the word-vector cache", "checksum"),
          code=0, after="repair", repair=("ingest", "--quiet", "--index-dir", "{idx}"), repair_cli=True),
    Fault("word-vector cache of NaN rows with a matching checksum: ingest --rebuild",
          _word_table_with_nan_and_its_checksum,
          ("ingest", "--rebuild", "--quiet", "--index-dir", "{idx}"), ("Ignoring the word-vector cache", "not finite"),
          code=0, check=_word_table_whole),
]


def _fill(arg, idx: Path, tmp: Path):
    if isinstance(arg, bytes):
        return arg.replace(b"{idx}", bytes(idx)).replace(b"{tmp}", bytes(tmp))
    return arg.replace("{idx}", str(idx)).replace("{tmp}", str(tmp))


def _answers(idx: Path) -> None:
    from consensus_chat.retriever import open_retriever

    assert open_retriever(idx).search("metrology").hits[0].title == "Metrology for AI risk assessment"


PROBES = ("metrology", "Which sections cite Turpin?", "How can we tell whether a model's stated reasoning is faithful?",
          "Who wrote this report?")


def _top3(idx: Path) -> list[list[str]]:
    from consensus_chat.retriever import open_retriever

    r = open_retriever(idx)
    return [[h.id for h in r.search(q, k=3).hits] for q in PROBES]


@pytest.fixture(scope="module")
def healthy(config) -> list[list[str]]:
    """The top 3 of each probe on the untouched index: what a damaged copy must answer once repaired."""
    return _top3(config.index_dir)


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_table(fault, config, tmp_path, embedder, healthy):
    idx = copy_index(config.index_dir, tmp_path)
    env = {**os.environ, **fault.setup(idx, tmp_path)}
    proc = subprocess.run([CLI, *(_fill(a, idx, tmp_path) for a in fault.args)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == fault.code, (proc.returncode, proc.stderr)
    assert "unexpected" not in proc.stderr and "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1] if fault.code else proc.stderr
    for word in fault.words:
        assert word in line, (word, line)
    for word in fault.absent:
        assert word not in proc.stderr, (word, proc.stderr)
    if fault.check is not None:
        fault.check(idx, tmp_path)
    if fault.after == "repair" and fault.repair_cli:
        fixed = subprocess.run([CLI, *(_fill(a, idx, tmp_path) for a in fault.repair)], capture_output=True,
                               text=True, timeout=300, env=env)
        assert fixed.returncode == 0, fixed.stderr
    elif fault.after == "repair":
        from consensus_chat.ingest.pipeline import ingest

        ingest(config=config.with_(index_dir=idx), rebuild="--rebuild" in fault.repair, embedder=embedder)
    if fault.after:
        assert _top3(idx) == healthy
    if fault.check is not None and fault.after == "repair":
        fault.check(idx, tmp_path)  # the repair too left alone what it must


def test_plain_ingest_repairs_a_store_that_lost_its_database(config, tmp_path):
    """A deleted chroma.sqlite3 is not "unchanged": plain ingest says so and rebuilds the store."""
    idx = copy_index(config.index_dir, tmp_path)
    _delete_sqlite(idx, tmp_path)
    proc = run("ingest", "--index-dir", str(idx))
    assert proc.returncode == 0, proc.stderr
    assert "rebuilt" in proc.stderr and "missing" in proc.stderr
    assert "(18 chunks embedded)" in proc.stdout
    _answers(idx)
    again = run("ingest", "--index-dir", str(idx))  # now whole: nothing to do
    assert "(0 chunks embedded)" in again.stdout and "rebuilt" not in again.stderr


def test_plain_ingest_repairs_a_store_that_lost_rows(config, tmp_path):
    """A store that opens but lost chunks is rebuilt too, not reported as unchanged."""
    import chromadb
    from chromadb.config import Settings

    from consensus_chat.ingest.pipeline import ingest

    idx = copy_index(config.index_dir, tmp_path)
    client = chromadb.PersistentClient(str(_generation(idx)), settings=Settings(anonymized_telemetry=False))
    col = client.get_collection("sections")
    col.delete(ids=col.get(limit=2)["ids"])
    client.close()
    report = ingest(config=config.with_(index_dir=idx))
    assert report.repaired and report.embedded_chunks == 18
    _answers(idx)


@pytest.fixture
def read_only_index(config, tmp_path):
    """A valid index seen through a read-only bind mount (needs root; skipped elsewhere)."""
    idx = copy_index(config.index_dir, tmp_path)
    mount = tmp_path / "ro"
    mount.mkdir()
    made = subprocess.run(["mount", "--bind", "-o", "ro", str(idx), str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make a read-only mount here: {made.stderr.decode().strip()}")
    subprocess.run(["mount", "-o", "remount,ro,bind", str(mount)], check=True)
    try:
        assert not os.access(mount, os.W_OK)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_read_only_index_answers_from_its_saved_parts_and_ingest_says_it_must_be_writable(read_only_index):
    """A small index is searched from its saved parts without opening Chroma (retriever/generation.py), so
    a read-only copy answers; Chroma 1.5 cannot open a store read-only, so ingest says that, not "rebuild"."""
    proc = run("search", "metrology", "--json", "--index-dir", str(read_only_index))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hits"][0]["title"] == "Metrology for AI risk assessment"
    proc = run("ingest", "--index-dir", str(read_only_index))
    assert proc.returncode == 2 and "unexpected" not in proc.stderr and "writable" in proc.stderr


def test_non_utf8_bytes_in_a_cli_question_are_stripped(index_dir):
    proc = subprocess.run([CLI, b"ask", b"what is \xff\xfe metrology?", b"--json", b"--index-dir", bytes(index_dir)],
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert "3.2.1" in answer["answer"] and not answer["refused"]
    assert b"not valid UTF-8" in proc.stderr


def test_lone_surrogates_through_the_api(retriever, assistant):
    assert retriever.search("what is \udcff metrology?").hits[0].title == "Metrology for AI risk assessment"
    with pytest.raises(QueryError, match="empty"):
        retriever.search("\udcff\ud800")
    with pytest.raises(QueryError, match="empty"):
        assistant.answer("\udcfe \x01")
    assert "\udcff" not in assistant.answer("metrology \udcff").question


def test_clean_query_is_the_one_check():
    from consensus_chat.retriever.clean import MAX_QUERY_CHARS, clean_query

    assert clean_query("  a\x00b\tc  ") == ("ab c", ["Control characters were removed from the question."])
    assert clean_query("  a b\tc  ") == ("a b c", [])
    with pytest.raises(QueryError):
        clean_query(None)
    text, notices = clean_query("x" * (MAX_QUERY_CHARS + 5))
    assert len(text) == MAX_QUERY_CHARS and "only the first" in notices[0]
    assert clean_query("x" * (MAX_QUERY_CHARS + 5), limit=None) == ("x" * (MAX_QUERY_CHARS + 5), [])


def test_a_question_is_cleaned_once_at_the_edge(assistant, monkeypatch):
    from consensus_chat.app.api import answer_json, search_json
    from consensus_chat.retriever import clean

    calls = []
    real = clean._cleaned
    monkeypatch.setattr(clean, "_cleaned", lambda q: calls.append(q) or real(q))
    answer = answer_json("What is\x01 metrology?", assistant=assistant)
    assert calls == ["What is\x01 metrology?"], "the assistant and the search take the edge's CleanQuestion as it is"
    assert answer["question"] == "What is metrology?" and type(assistant.answer("metrology").question) is str
    calls.clear()
    assert search_json("x" * 2100, assistant=assistant)["query"] == "x" * clean.MAX_QUERY_CHARS and len(calls) == 1
    # A CleanQuestion is taken as it is; plain text from a Python caller is cleaned.
    assert clean.clean_query(clean.CleanQuestion("a\x00b"), limit=None)[0] == "a\x00b"
    assert clean.clean_query("a\x00b", limit=None)[0] == "ab"


def _generation_files(pid: int) -> tuple[int, int, int]:
    """(all open files, files under a gen-* directory, files already deleted) of a process, from /proc."""
    targets = open_files(pid)
    in_gen = [t for t in targets if "/gen-" in t]
    return len(targets), len(in_gen), sum(t.endswith("(deleted)") for t in in_gen)


@pytest.mark.slow
def test_server_releases_replaced_generations(config, tmp_path, embedder):
    """10 re-ingests under a running `serve`: its open files stay flat and it keeps answering."""
    import psutil
    from conftest import CORPUS, serving
    from consensus_chat.ingest.pipeline import ingest

    idx = copy_index(config.index_dir, tmp_path)
    edited = tmp_path / "edited.txt"
    edited.write_text(CORPUS.read_text(encoding="utf-8").replace("standardisation", "standardization"),
                      encoding="utf-8")
    with serving(idx, tmp_path / "serve.log") as (client, proc):
        def ask() -> str:
            # Two requests: the first swaps to the new generation, the second finds the old one released.
            client.predict("metrology", 3, api_name="/search")
            return client.predict("metrology", 3, api_name="/search")["hits"][0]["title"]

        assert ask() == "Metrology for AI risk assessment"
        first_files = _generation_files(proc.pid)
        first_rss = psutil.Process(proc.pid).memory_info().rss
        seen = []
        for n in range(10):
            report = ingest([edited if n % 2 == 0 else CORPUS], config.with_(index_dir=idx), embedder=embedder)
            assert report.updated == 1  # a new generation each time
            assert ask() == "Metrology for AI risk assessment"
            seen.append(_generation_files(proc.pid))
        # A replaced generation is closed once the requests holding it finish, which on a busy machine can
        # be a request or two later than the sample above: give it up to three more before judging. A leak
        # would keep growing with every re-ingest, so the bound below still catches one.
        for _ in range(3):
            if seen[-1][1] <= first_files[1] + 2 and seen[-1][2] == 0:
                break
            time.sleep(0.5)
            ask()
            seen.append(_generation_files(proc.pid))
        total, in_gen, deleted = seen[-1]
        rss = psutil.Process(proc.pid).memory_info().rss
        (tmp_path / "figures.txt").write_text(f"first {first_files} {first_rss}\nlast {seen} {rss}\n")
        assert deleted == 0, seen  # nothing held on a generation ingest has deleted
        assert in_gen <= first_files[1] + 2, seen  # files of one generation, not one set per re-ingest
        assert total <= first_files[0] + 10, seen
        assert rss - first_rss < 150 * 1024 * 1024, (first_rss, rss)
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
