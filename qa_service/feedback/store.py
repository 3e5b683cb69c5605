"""Users' 👍 / 👎 on answers, kept in SQLite beside the corpus and exported as test questions.

The database lives outside every index generation, so rebuilds, rollbacks and the pruning
of old generations never touch it. Each write opens its own connection: gunicorn runs
several processes, and SQLite's WAL journal with a busy timeout lets them write one after
another without a lock of our own.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RATINGS = ("up", "down")
DEFAULT_FILE_NAME = "feedback.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    created_at REAL NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    question TEXT NOT NULL,
    history TEXT NOT NULL,          -- JSON list of the earlier questions sent with it
    found INTEGER NOT NULL,         -- whether the answer shown was "found"
    answer TEXT,                    -- the short answer shown (NULL when not found)
    generation TEXT,                -- the index generation that answered
    article_id TEXT,                -- the user's selection of the right answer, if any
    char_start INTEGER,
    char_end INTEGER,
    selected_text TEXT
)
"""


def default_feedback_db(corpus_dir: Path) -> Path:
    """Beside the corpus folder (never inside it, where files are read as articles)."""
    return Path(corpus_dir).resolve().parent / DEFAULT_FILE_NAME


class FeedbackError(ValueError):
    """Feedback that cannot be stored as given (the message says why)."""


@dataclass(frozen=True)
class Selection:
    """Text the user marked as the right answer: a verbatim slice of an article."""

    article_id: str
    char_start: int
    char_end: int
    text: str


@dataclass(frozen=True)
class Feedback:
    rating: str
    question: str
    found: bool
    answer: str | None = None
    generation: str | None = None
    history: list[str] = field(default_factory=list)
    selection: Selection | None = None
    id: int | None = None
    created_at: float | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def as_test_question(self) -> dict[str, Any] | None:
        """The row ``benchmarks/bulletin_questions.jsonl`` holds, or None where the
        feedback says only that an answer was wrong, not what is right.

        👍 on a found answer confirms it; 👍 on "not found" confirms there is no answer
        (``answer`` null, as the benchmark marks unanswerable questions); 👎 with a
        selection names the right answer; 👎 alone is not a test question.
        """
        if self.selection is not None:
            expected: str | None = self.selection.text
        elif self.rating == "up":
            expected = self.answer if self.found else None
            if self.found and not expected:
                return None
        else:
            return None
        row: dict[str, Any] = {"question": self.question, "answer": expected, "kind": "feedback"}
        if self.history:
            row["history"] = self.history
        row["feedback"] = {"id": self.id, "rating": self.rating, "generation": self.generation,
                           "shown": self.answer,
                           "article_id": self.selection.article_id if self.selection else None}
        return row


class FeedbackStore:
    """Feedback rows in one SQLite file; the file and its folder are made on first write."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _connect(self, create: bool) -> Iterator[sqlite3.Connection]:
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        uri = f"{self.path.resolve().as_uri()}{'' if create else '?mode=ro'}"
        with closing(sqlite3.connect(uri, uri=True, timeout=10.0)) as connection:
            connection.row_factory = sqlite3.Row
            if create:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute(SCHEMA)
            yield connection

    def add(self, feedback: Feedback) -> int:
        """Store one feedback row; its id."""
        if feedback.rating not in RATINGS:
            raise FeedbackError(f"rating must be one of {RATINGS}")
        s = feedback.selection
        with self._connect(create=True) as connection, connection:
            cursor = connection.execute(
                "INSERT INTO feedback (created_at, rating, question, history, found, answer, generation,"
                " article_id, char_start, char_end, selected_text) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (time.time(), feedback.rating, feedback.question,
                 json.dumps(feedback.history, ensure_ascii=False), int(feedback.found), feedback.answer,
                 feedback.generation, s.article_id if s else None, s.char_start if s else None,
                 s.char_end if s else None, s.text if s else None))
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def count(self) -> int:
        if not self.path.exists():
            return 0
        with self._connect(create=False) as connection:
            return int(connection.execute("SELECT count(*) FROM feedback").fetchone()[0])

    def newest(self, offset: int = 0, limit: int = 100) -> list[Feedback]:
        """Feedback, newest first."""
        return self._select("ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset))

    def all(self) -> list[Feedback]:
        """Feedback, oldest first (the order of an export)."""
        return self._select("ORDER BY id", ())

    def _select(self, clause: str, parameters: tuple) -> list[Feedback]:
        if not self.path.exists():
            return []
        with self._connect(create=False) as connection:
            rows = connection.execute(f"SELECT * FROM feedback {clause}", parameters).fetchall()
        return [_feedback(row) for row in rows]


def _feedback(row: sqlite3.Row) -> Feedback:
    selection = None
    if row["article_id"] is not None:
        selection = Selection(row["article_id"], row["char_start"], row["char_end"], row["selected_text"])
    return Feedback(rating=row["rating"], question=row["question"], found=bool(row["found"]),
                    answer=row["answer"], generation=row["generation"], history=json.loads(row["history"]),
                    selection=selection, id=row["id"], created_at=row["created_at"])


def export_test_questions(store: FeedbackStore) -> tuple[list[dict[str, Any]], int]:
    """Rows for a test-question file, and how many feedback rows could not become one."""
    rows, skipped = [], 0
    for feedback in store.all():
        row = feedback.as_test_question()
        if row is None:
            skipped += 1
        else:
            rows.append(row)
    return rows, skipped
