"""The bench's workload: generated sections, the query list, and stand-in vectors for the largest index."""

from __future__ import annotations

import random
import re

GENERATED_SEED = 20250501


def generate_sections(n: int, real, seed: int = GENERATED_SEED):
    """n plausible card Sections: 40-60 words recombined from the real cards' clauses, random codes/titles."""
    from consensus_chat.ingest.section import Section
    from consensus_chat.ingest.text import split_sentences, words

    rng = random.Random(seed)
    cards = [s for s in real if s.kind == "card"]
    clauses = []
    for s in cards:
        for sentence in split_sentences(s.text):
            sentence = re.sub(r"\s*\([^()]*\)", "", sentence).rstrip(".")  # drop citations; added back below
            clauses += [c.strip() for c in sentence.split(", ") if len(c.split()) >= 4]
    title_words = sorted({w for s in cards for w in words(s.title) if len(w) > 3}
                         | {w for c in clauses for w in words(c) if len(w) > 6})
    labels = sorted({s.label for s in cards if s.label}) + ["Governance", "Control", "Monitoring", "Robustness"]
    parents = [None] * 4 + sorted({s.parent for s in cards if s.parent}) + ["Control", "Monitoring"]
    keys = sorted({k for s in cards for k in s.citations}) + [f"Author{c}-{x}" for c in "BCDFGHKLMNPRSTVW" for x in "AB"]
    out = []
    for i in range(n):
        target = rng.randint(40, 60)
        parts: list[str] = []
        while sum(len(p.split()) for p in parts) < target:
            first, second = rng.choice(clauses), rng.choice(clauses)
            parts.append(f"{first[0].upper()}{first[1:]}, {second[0].lower()}{second[1:]}.")
        text = " ".join(" ".join(parts).split()[:target]).rstrip(",;.") + "."
        cited = tuple(rng.sample(keys, rng.randint(0, 3)))
        if cited:
            text = text[:-1] + f" ({', '.join(cited)})."
        title = " ".join(rng.sample(title_words, rng.randint(2, 5))).capitalize()
        out.append(Section(
            id=f"gen-{i:06d}", kind="card", code=f"{rng.randint(1, 9)}.{rng.randint(1, 9)}.{rng.randint(1, 30)}",
            label=rng.choice(labels), title=title, parent=rng.choice(parents), text=text, citations=cited,
            source_file="generated", line_start=i + 1, line_end=i + 1,
        ))
    return out


def bench_queries(n: int, real, seed: int = 7) -> list[str]:
    """The eval questions, then short phrases cut from the document, up to n queries."""
    from consensus_chat.ingest.text import split_sentences

    from .runner import DEFAULT_QUESTIONS, load_questions

    queries = [q.question for q in load_questions(DEFAULT_QUESTIONS)]
    rng = random.Random(seed)
    sentences = [s for sec in real if sec.kind == "card" for s in split_sentences(sec.text)]
    while len(queries) < n:
        ws = rng.choice(sentences).split()
        start = rng.randrange(0, max(1, len(ws) - 6))
        queries.append(" ".join(ws[start : start + rng.randint(3, 8)]).strip(",.()"))
    return queries[:n]


def chunk_texts(sections, embedder) -> list[str]:
    """The exact texts ingest embeds for these sections."""
    from consensus_chat.ingest.chunker import chunk_section

    return [c.text for s in sections for c in chunk_section(s, embedder.count_tokens, embedder.max_tokens)]


class BlendedEmbedder:
    """Stands in for the model while the 100,000-section index is built, unless --embed-all.

    Texts the smaller index already embedded keep their real vectors. Every other text gets a
    normalised blend of two real vectors from that pool (picked by the text's hash) plus a little
    noise, so the vectors lie where real ones do and the HNSW graph has a realistic shape. Only the
    vector values are stand-ins: chunking, metadata, Chroma writes and the manifest are the real
    ingest. Embedding 90,000 more texts for real takes hours on a busy 2-core machine.
    """

    def __init__(self, real, known: dict, pool):
        self._real = real
        self.spec, self.max_tokens, self.dim, self.name = real.spec, real.max_tokens, real.dim, real.name
        self.count_tokens = real.count_tokens
        self._known, self._pool = known, pool
        self.blended = 0

    def encode(self, texts, batch_size: int = 32):
        """Real vectors for known texts, blends for the rest."""
        import hashlib

        import numpy as np

        out = np.empty((len(texts), self.dim), dtype="float32")
        for i, text in enumerate(texts):
            v = self._known.get(text)
            if v is None:
                seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
                rng = np.random.default_rng(seed)
                a, b = rng.integers(len(self._pool), size=2)
                w = rng.uniform(0.3, 0.7)
                v = w * self._pool[a] + (1 - w) * self._pool[b] + rng.normal(0.0, 0.02, self.dim)
                v = v / np.linalg.norm(v)
                self.blended += 1
            out[i] = v
        return out

    def encode_one(self, text: str):
        """One vector."""
        return self.encode([text])[0]


def pool_from_index(config):
    """(text -> vector, matrix of vectors) of every chunk in an existing embedded index."""
    import numpy as np

    from consensus_chat.ingest.store import open_store, pages

    _, col = open_store(config).open_current()
    known, vectors = {}, []
    for got in pages(col, ["documents", "embeddings"]):
        for doc, emb in zip(got["documents"], got["embeddings"]):
            v = np.asarray(emb, dtype="float32")
            known[doc] = v
            vectors.append(v)
    return known, np.stack(vectors)

