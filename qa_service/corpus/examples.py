"""Example questions for the chat page's welcome screen, from a file in the corpus folder.

``example_questions.json`` (a JSON list of strings) sits beside the articles, so the
examples fit the corpus in use and change with it; its suffix keeps it from being read
as an article. Read at build time into the generation's manifest: the examples served
are always those of the articles served.
"""

from __future__ import annotations

import json
from pathlib import Path

from .normalize import is_blank

EXAMPLES_FILE = "example_questions.json"
MAX_EXAMPLES = 8
MAX_EXAMPLE_CHARS = 100


def read_example_questions(corpus_dir: Path) -> tuple[list[str], str | None]:
    """The questions (none when the file is absent), and what was wrong with the file."""
    path = corpus_dir / EXAMPLES_FILE
    if not path.is_file():
        return [], None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [], f"not a JSON list of questions: {exc}"
    if not isinstance(data, list):
        return [], "not a JSON list of questions"
    questions = [q.strip() for q in data if isinstance(q, str) and not is_blank(q)]
    kept = [q for q in questions if len(q) <= MAX_EXAMPLE_CHARS][:MAX_EXAMPLES]
    dropped = len(data) - len(kept)
    problem = (f"{dropped} entries left out (blank, not text, longer than {MAX_EXAMPLE_CHARS} "
               f"characters, or beyond the first {MAX_EXAMPLES})") if dropped else None
    return kept, problem
