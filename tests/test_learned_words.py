"""Everyday words a search encodes on first use are kept in the model's cached word table (ingest/learned_words.py):
a later process reads them instead of encoding them, with the same vectors; processes adding words while others
read never leave the table damaged or half-replaced; a damaged or removed table is left alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import CLI, RecordingEncode, overwrite_rows

@pytest.fixture()
def cache(index_dir, tmp_path, monkeypatch):
    """A copy of the per-model cache the session's index was built with (export and word table); searches in
    this test use it."""
    from consensus_chat.ingest.cachelock import locked
    from consensus_chat.ingest.learned_words import flush_all
    from consensus_chat.ingest.wordtable import cache_dir, lock_path

    copy = tmp_path / "cache"
    flush_all()  # this process's own pending words first, then a copy no writer is halfway through
    with locked(lock_path(_model()[2]), exclusive=False):
        shutil.copytree(cache_dir(), copy, ignore=shutil.ignore_patterns("*.lock", "*.tmp-*"))
    monkeypatch.setenv("CONSENSUS_CHAT_CACHE", str(copy))
    return copy


def _model():
    from consensus_chat.ingest.embedder import resolve_model
    from consensus_chat.ingest.wordtable import table_path, wordpiece_lexicon

    spec = resolve_model(None)
    return spec, wordpiece_lexicon(str(spec.path)), table_path(spec.weights_sha256)


def _head(path) -> list[str]:
    return path.with_suffix(".txt").read_text(encoding="utf-8").split()


def _beyond_head(n: int) -> list[str]:
    """n everyday words the cached table does not hold yet (spread over the alphabet), each a topic word."""
    from consensus_chat.ingest.wordtable import table_words
    from consensus_chat.ingest.words import content_parts

    spec, lexicon, path = _model()
    held = set(_head(path))
    words = [w for w in table_words(lexicon) if w not in held and len(w) > 5 and content_parts(w) == [w]]
    return words[:: len(words) // n][:n]


def test_words_a_search_encodes_are_kept_for_the_next_process(cache, index_dir):
    import numpy as np

    from consensus_chat.ingest.query_encoder import open_document_encoder
    from consensus_chat.ingest.wordtable import load_table

    spec, lexicon, path = _model()
    words = _beyond_head(3)
    question = f"Does a {words[0]} need a {words[1]} near a {words[2]}?"
    proc = subprocess.run([CLI, "search", question, "--json", "--index-dir", str(index_dir)], capture_output=True,
                          text=True, timeout=300, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    head = _head(path)
    assert set(words) <= set(head), "the words the search encoded were not kept"
    encoder = open_document_encoder(spec, stand_ins=False)
    encode = RecordingEncode(encoder)
    rows, vectors = load_table(spec.weights_sha256, lexicon, 384, encode)  # checked: checksum and content
    got = vectors[[rows[w] for w in words]]
    assert encode.calls == [], "a kept word was encoded again"
    # Exactly the vectors the search had encoded (float16, as every row of the table).
    assert np.array_equal(got, encoder.encode(words).astype(np.float16))


_WRITER = textwrap.dedent("""
    import sys
    from consensus_chat.ingest.embedder import resolve_model
    from consensus_chat.ingest.learned_words import learned_words
    from consensus_chat.ingest.query_encoder import open_document_encoder
    from consensus_chat.ingest.wordtable import load_table, wordpiece_lexicon

    spec = resolve_model(None)
    lexicon = wordpiece_lexicon(str(spec.path))
    encoder = open_document_encoder(spec, stand_ins=False)
    learned = learned_words(spec.weights_sha256, lexicon)
    rows, vectors = load_table(spec.weights_sha256, lexicon, 384, encoder.encode, learned)
    for word in sys.argv[1:]:
        vectors[[rows[word]]]
        assert learned.flush() == 1  # one replace of the table per word
""")

_READER = textwrap.dedent("""
    import sys, time
    from consensus_chat.ingest.embedder import resolve_model
    from consensus_chat.ingest.wordtable import load_table, wordpiece_lexicon

    spec = resolve_model(None)
    lexicon = wordpiece_lexicon(str(spec.path))
    unusable, reads, deadline = 0, 0, time.monotonic() + float(sys.argv[1])
    while time.monotonic() < deadline:
        unusable += load_table(spec.weights_sha256, lexicon, 384) is None
        reads += 1
    print(unusable, reads)
""")


def test_processes_adding_words_while_others_read_leave_the_table_whole(cache):
    """Two processes add words one at a time (a replace each) while a third keeps reading the table: every read
    finds a whole table (without the lock, a read between two replaces found a mismatch and dropped the table),
    and in the end the table holds every word of both, with its checksum."""
    spec, lexicon, path = _model()
    words = _beyond_head(12)
    env = os.environ.copy()
    reader = subprocess.Popen([sys.executable, "-c", _READER, "25"], stdout=subprocess.PIPE, text=True, env=env)
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, *part], stderr=subprocess.PIPE, text=True, env=env)
               for part in (words[::2], words[1::2])]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
    out, _ = reader.communicate(timeout=300)
    unusable, reads = map(int, out.split())
    assert reads > 50 and unusable == 0, (unusable, reads)
    head = _head(path)
    assert set(words) <= set(head) and len(set(head)) == len(head)
    from consensus_chat.ingest.wordtable import load_table

    assert load_table(spec.weights_sha256, lexicon, 384) is not None


def test_a_damaged_or_removed_table_is_left_alone(cache, caplog):
    """Learned words are only added to a usable table: a damaged one stays as it is (ingest rebuilds it), and the
    folder of a removed cache is not created again."""
    import numpy as np

    from consensus_chat.ingest.learned_words import LearnedWords

    spec, lexicon, path = _model()
    words = _beyond_head(2)
    vectors = np.ones((2, 384), dtype=np.float16) / np.float16(np.sqrt(384))
    overwrite_rows(path, np.nan, every=3)
    damaged = {p.name: p.read_bytes() for p in path.parent.iterdir() if not p.name.endswith(".lock")}
    learned = LearnedWords(path, lexicon)
    learned.add(words, vectors)
    assert learned.flush() == 2 and learned.flush() == 0
    assert damaged == {p.name: p.read_bytes() for p in path.parent.iterdir() if not p.name.endswith(".lock")}
    shutil.rmtree(cache)
    learned = LearnedWords(path, lexicon)
    learned.add(words, vectors)
    assert learned.flush() == 2 and not cache.exists()
    assert "Traceback" not in caplog.text
