"""Thumbs up/down on answers, kept in a SQLite file in the index home, and exported as eval lines to label.

Each vote stores the question, the answer, its citations and the backend, so that a disliked answer can become a
question in the eval set (`consensus-chat feedback export`). Nothing here imports Gradio.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import ConsensusChatError

log = logging.getLogger(__name__)

FILENAME = "feedback.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    liked INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    refused INTEGER NOT NULL,
    backend TEXT NOT NULL,
    citations TEXT NOT NULL
)
"""


class FeedbackError(ConsensusChatError):
    """A vote could not be stored or read (the message says what to do)."""


@dataclass(frozen=True)
class Vote:
    """One thumbs up or down on one answer."""

    liked: bool
    question: str
    answer: str
    refused: bool
    backend: str
    citations: tuple[dict, ...] = ()
    created: float = 0.0
    id: int | None = None

    @classmethod
    def for_answer(cls, liked: bool, question: str, answer: dict) -> Vote:
        """A vote on an answer in its `Answer.to_dict()` shape."""
        return cls(liked=bool(liked), question=question, answer=str(answer.get("answer") or ""),
                   refused=bool(answer.get("refused")), backend=str(answer.get("backend") or ""),
                   citations=tuple(answer.get("citations") or ()), created=time.time())

    def eval_line(self) -> dict:
        """The vote as a line of evals/questions.jsonl, pre-filled from the answer for a person to correct."""
        titles = list(dict.fromkeys(c["title"] for c in self.citations if c.get("title")))
        codes = list(dict.fromkeys(c["code"] for c in self.citations if c.get("code")))
        in_scope = not self.refused and bool(titles)
        return {
            "id": f"feedback-{self.id}", "question": self.question,
            "relevant_titles": titles if in_scope else [], "relevant_codes": codes if in_scope else [],
            "kind": "in_scope" if in_scope else "out_of_scope",
            # Not read by the scorer: what the person labelling the line needs to see.
            "to_label": "disliked answer: check kind, relevant_titles and relevant_codes",
            "answer": self.answer, "backend": self.backend,
        }


class FeedbackStore:
    """Votes in `<index home>/feedback.sqlite3`. A vote that cannot be written waits in memory for the next one."""

    def __init__(self, index_dir: str | Path):
        self.path = Path(index_dir) / FILENAME
        self._lock = threading.Lock()  # the server records votes from several worker threads
        self._waiting: list[Vote] = []

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10)
        connection.execute(_SCHEMA)
        return connection

    def record(self, vote: Vote) -> int:
        """Store `vote` (and any that waited); return how many are stored. Raise FeedbackError if the file is not
        writable; the vote then waits in memory and is written with the next one that succeeds."""
        with self._lock:
            self._waiting.append(vote)
            try:
                with closing(self._connect()) as connection, connection:
                    connection.executemany(
                        "INSERT INTO votes (created, liked, question, answer, refused, backend, citations) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [(v.created, int(v.liked), v.question, v.answer, int(v.refused), v.backend,
                          json.dumps(list(v.citations), ensure_ascii=False)) for v in self._waiting])
            except (sqlite3.Error, OSError) as exc:
                log.warning("feedback not saved to %s: %s", self.path, exc)
                raise FeedbackError(
                    f"Cannot save feedback to {self.path} ({exc}); {len(self._waiting)} vote(s) are kept in memory "
                    "and saved with the next vote once the index directory is writable.") from None
            stored = len(self._waiting)
            self._waiting.clear()
            return stored

    @property
    def waiting(self) -> int:
        """Votes kept in memory because the file could not be written."""
        return len(self._waiting)

    def votes(self, *, liked: bool | None = None) -> list[Vote]:
        """Stored votes, oldest first; only likes or dislikes when `liked` is given."""
        if not self.path.exists():
            return []
        query = "SELECT id, created, liked, question, answer, refused, backend, citations FROM votes"
        params: tuple = ()
        if liked is not None:
            query, params = query + " WHERE liked = ?", (int(liked),)
        try:
            uri = self.path.resolve().as_uri() + "?mode=ro"  # reading needs no write access
            with closing(sqlite3.connect(uri, uri=True, timeout=10)) as connection:
                rows = connection.execute(query + " ORDER BY id", params).fetchall()
        except sqlite3.Error as exc:
            raise FeedbackError(f"Cannot read the feedback file {self.path} ({exc}). If it is damaged, move it "
                                "away; the server starts a new one with the next vote.") from None
        return [Vote(id=row[0], created=row[1], liked=bool(row[2]), question=row[3], answer=row[4],
                     refused=bool(row[5]), backend=row[6], citations=tuple(json.loads(row[7]))) for row in rows]
