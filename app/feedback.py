"""Thumbs up/down on answers, kept in a SQLite file in the index home, and exported as eval lines to label.

A vote names an answer by the id the server gave it (`Answer.id`); the server keeps its own copy of every answer it
issued (`IssuedAnswers`) and stores that copy with the vote (the question, the answer, its citations and the sources it
showed), so a client can neither forge an answer nor store text of its own beyond a short comment. Every field is cut
to a fixed length, the file to a fixed size, and votes per client address are limited. A disliked answer can become a
question in the eval set (`consensus-chat feedback export`). Nothing here imports Gradio.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from consensus_chat.ingest.errors import ConsensusChatError

from .ratelimit import RetryLater, SlidingWindowLimiter

log = logging.getLogger(__name__)

FILENAME = "feedback.sqlite3"
MAX_STORE_BYTES = 50 * 1024 * 1024  # the whole file: 50 MB holds thousands of votes
MAX_WAITING = 100  # votes kept in memory while the file cannot be written
MAX_COMMENT = 1000  # characters of a voter's own comment
MAX_QUESTION = 2000  # the retriever reads at most 2000 characters of a question too
MAX_ANSWER = 20_000
MAX_SOURCES = 10
MAX_SOURCE_TEXT = 4000  # characters of each source's text
MAX_CITATIONS = 30
ISSUED_ANSWERS = 2000  # answers a server remembers for voting, oldest forgotten first
VOTES_PER_WINDOW, VOTE_WINDOW = 30, 60.0  # votes per client address per minute

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
# Columns added after the first release; an older file gets them on the next vote.
_NEW_COLUMNS = {"answer_id": "TEXT", "sources": "TEXT NOT NULL DEFAULT '[]'", "comment": "TEXT NOT NULL DEFAULT ''"}
_COLUMNS = ("created", "liked", "question", "answer", "refused", "backend", "citations", "answer_id", "sources",
            "comment")


class FeedbackError(ConsensusChatError):
    """A vote could not be stored or read (the message says what to do)."""


class UnknownAnswer(ValueError):
    """A vote names an answer id this server never issued, or has forgotten."""


class TooManyVotes(RetryLater, ValueError):
    """A client sent more votes than the limit allows; `retry_after` is in seconds."""


def _cut(text, limit: int) -> str:
    text = str(text or "")
    return text if len(text) <= limit else text[:limit] + " …"


def _kept_hit(hit: dict) -> dict:
    return {**hit, "text": _cut(hit.get("text"), MAX_SOURCE_TEXT)}


@dataclass(frozen=True)
class Vote:
    """One thumbs up or down on one answer, with the server's copy of that answer."""

    liked: bool
    question: str
    answer: str
    refused: bool
    backend: str
    citations: tuple[dict, ...] = ()
    created: float = 0.0
    id: int | None = None
    answer_id: str | None = None
    sources: tuple[dict, ...] = ()  # the sections the answer showed, in the `search --json` hit shape
    comment: str = ""

    @classmethod
    def for_answer(cls, liked: bool, answer: dict, comment: str = "") -> Vote:
        """A vote on an answer in its `Answer.to_dict()` shape, each field cut to its limit."""
        return cls(liked=bool(liked), question=_cut(answer.get("question"), MAX_QUESTION),
                   answer=_cut(answer.get("answer"), MAX_ANSWER), refused=bool(answer.get("refused")),
                   backend=_cut(answer.get("backend"), 40),
                   citations=tuple(answer.get("citations") or ())[:MAX_CITATIONS], created=time.time(),
                   answer_id=answer.get("id"), sources=tuple(_kept_hit(h) for h in (answer.get("sources") or ())
                                                             [:MAX_SOURCES]),
                   comment=_cut(" ".join(str(comment or "").split()), MAX_COMMENT))

    def row(self) -> tuple:
        """The values of `_COLUMNS` for SQLite."""
        return (self.created, int(self.liked), self.question, self.answer, int(self.refused), self.backend,
                json.dumps(list(self.citations), ensure_ascii=False), self.answer_id,
                json.dumps(list(self.sources), ensure_ascii=False), self.comment)

    def eval_line(self) -> dict:
        """The vote as a line of evals/questions.jsonl, pre-filled from the answer for a person to correct."""
        titles = list(dict.fromkeys(c["title"] for c in self.citations if c.get("title")))
        codes = list(dict.fromkeys(c["code"] for c in self.citations if c.get("code")))
        in_scope = not self.refused and bool(titles)
        line = {
            "id": f"feedback-{self.id}", "question": self.question,
            "relevant_titles": titles if in_scope else [], "relevant_codes": codes if in_scope else [],
            "kind": "in_scope" if in_scope else "out_of_scope",
            # Not read by the scorer: what the person labelling the line needs to see.
            "to_label": "disliked answer: check kind, relevant_titles and relevant_codes",
            "answer": self.answer, "backend": self.backend,
            "sources": [" ".join(x for x in (h.get("code"), h.get("title")) if x) for h in self.sources],
        }
        if self.comment:
            line["comment"] = self.comment
        return line


class IssuedAnswers:
    """The answers a server gave, by id, so that a vote stores the server's copy. Bounded and thread-safe."""

    def __init__(self, size: int = ISSUED_ANSWERS):
        self.size = size
        self._answers: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, answer) -> None:
        """Keep an `Answer` (its `to_dict()`) under its id."""
        with self._lock:
            self._answers[answer.id] = answer.to_dict()
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)

    def get(self, answer_id) -> dict:
        """The issued answer with this id; UnknownAnswer if the server never gave it or has forgotten it."""
        with self._lock:
            found = self._answers.get(answer_id) if isinstance(answer_id, str) else None
        if found is None:
            raise UnknownAnswer("No answer with that id was given by this server (or it was long ago, and has been "
                                "forgotten), so the vote was not recorded. Rate an answer by the `id` its reply "
                                "carried.")
        return found


class VoteLimiter(SlidingWindowLimiter):
    """At most `limit` votes per client address in a sliding window of `window` seconds. Thread-safe."""

    def __init__(self, limit: int = VOTES_PER_WINDOW, window: float = VOTE_WINDOW, max_clients: int = 10_000):
        super().__init__(limit, window, what="votes", error=TooManyVotes, max_clients=max_clients)


class FeedbackStore:
    """Votes in `<index home>/feedback.sqlite3`, one per answer (a second vote replaces the first).

    A vote that cannot be written waits in memory (at most MAX_WAITING) and is written with the next one. The file
    stops growing at `max_bytes`.
    """

    def __init__(self, index_dir: str | Path, *, max_bytes: int = MAX_STORE_BYTES):
        self.path = Path(index_dir) / FILENAME
        self.max_bytes = max_bytes
        self._lock = threading.Lock()  # the server records votes from several worker threads
        self._waiting: list[Vote] = []

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10)
        connection.execute(_SCHEMA)
        have = {row[1] for row in connection.execute("PRAGMA table_info(votes)")}
        for name, kind in _NEW_COLUMNS.items():
            if name not in have:
                connection.execute(f"ALTER TABLE votes ADD COLUMN {name} {kind}")
        connection.execute("CREATE UNIQUE INDEX IF NOT EXISTS votes_answer_id ON votes(answer_id)")
        return connection

    def _check_room(self, votes: list[Vote]) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        adding = sum(len(json.dumps(v.row(), ensure_ascii=False).encode("utf-8")) for v in votes)
        if size + adding > self.max_bytes:
            raise FeedbackError(f"The feedback file {self.path} is full ({self.max_bytes // (1024 * 1024)} MB), so "
                                "the vote was not recorded. Run `consensus-chat feedback export`, then move the file "
                                "away; the server starts a new one with the next vote.")

    def record(self, vote: Vote) -> int:
        """Store `vote` (and any that waited); return how many are stored. Raise FeedbackError if the file is full
        (the vote is dropped) or not writable (the vote waits in memory and is written with the next one)."""
        with self._lock:
            self._check_room(self._waiting + [vote])
            self._waiting.append(vote)
            del self._waiting[:-MAX_WAITING]
            placeholders = ", ".join("?" for _ in _COLUMNS)
            updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS)
            try:
                with closing(self._connect()) as connection, connection:
                    connection.executemany(
                        f"INSERT INTO votes ({', '.join(_COLUMNS)}) VALUES ({placeholders}) "
                        f"ON CONFLICT(answer_id) DO UPDATE SET {updates}", [v.row() for v in self._waiting])
            except (sqlite3.Error, OSError) as exc:
                log.warning("feedback not saved to %s: %s", self.path, exc)
                raise FeedbackError(
                    f"Cannot save feedback to {self.path} ({exc}); {len(self._waiting)} vote(s) are kept in memory "
                    "and saved with the next vote once the index directory is writable.") from exc
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
        try:
            uri = self.path.resolve().as_uri() + "?mode=ro"  # reading needs no write access
            with closing(sqlite3.connect(uri, uri=True, timeout=10)) as connection:
                have = {row[1] for row in connection.execute("PRAGMA table_info(votes)")}
                columns = ["id", *(c if c in have else f"NULL AS {c}" for c in _COLUMNS)]
                query = f"SELECT {', '.join(columns)} FROM votes"
                params: tuple = ()
                if liked is not None:
                    query, params = query + " WHERE liked = ?", (int(liked),)
                rows = connection.execute(query + " ORDER BY id", params).fetchall()
        except sqlite3.Error as exc:
            raise FeedbackError(f"Cannot read the feedback file {self.path} ({exc}). If it is damaged, move it "
                                "away; the server starts a new one with the next vote.") from exc
        return [Vote(id=row[0], created=row[1], liked=bool(row[2]), question=row[3], answer=row[4],
                     refused=bool(row[5]), backend=row[6], citations=tuple(json.loads(row[7])), answer_id=row[8],
                     sources=tuple(json.loads(row[9] or "[]")), comment=row[10] or "") for row in rows]


class Ratings:
    """Votes on the answers one server issued: look the answer up by id, limit each client, store the server's copy.

    Every surface (the page, /feedback over HTTP, the MCP tool, `Assistant.feedback`) goes through `rate`.
    """

    def __init__(self, index_dir: str | Path, *, issued: IssuedAnswers | None = None,
                 limiter: VoteLimiter | None = None, store: FeedbackStore | None = None):
        self.issued = issued or IssuedAnswers()
        self.limiter = limiter or VoteLimiter()
        self.store = store or FeedbackStore(index_dir)

    def rate(self, answer_id, liked, comment="", *, client: str | None = None) -> dict:
        """Store a thumbs up (liked=True) or down on an issued answer; return {"id", "liked", "stored"}.

        Raise ValueError (UnknownAnswer, TooManyVotes) for a vote that is refused and FeedbackError when it cannot be
        written. `client` is the caller's address; calls without one (in-process) are not limited.
        """
        if not isinstance(liked, bool):
            raise ValueError("liked must be true (thumbs up) or false (thumbs down).")
        if comment is not None and not isinstance(comment, str):
            raise ValueError("comment must be text.")
        answer = self.issued.get(answer_id)
        if client is not None:
            self.limiter.count(client)
        self.store.record(Vote.for_answer(liked, answer, comment or ""))
        return {"id": answer_id, "liked": liked, "stored": True}
