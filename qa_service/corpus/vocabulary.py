"""The words officials use: an editable table of synonyms and abbreviations.

``vocabulary.tsv`` in the corpus folder holds one group of interchangeable terms per line
(`一把手<TAB>书记<TAB>主要负责人`; tabs, `=`, `↔`, `/` or spaces between them; `#` starts a
comment). `→` after the first term makes the line one-way: `一把手 → 书记 / 主要负责人`
widens a question with 一把手, but one with 书记 is not widened to 一把手 (which would
only add noise). `*` in a term stands for up to eight characters, so `中共*市委员会`
matches `中共石家庄市委员会`. Read at build time into the generation's manifest, like the example
questions: the table served always belongs to the index served, and editing it takes
effect at the next build.

A question term expands the lexical search with the other members of its group, and the
reader reads the question with the term replaced by the member a passage uses (`市委一把手
是谁？` read against `市委书记张超超` as `市委书记是谁？`). Passages are never rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

VOCABULARY_FILE = "vocabulary.tsv"  # not .txt: that would be read as an article
MAX_GROUPS = 5000
MAX_TERM_CHARS = 40
_SEPARATORS = re.compile(r"\s*(?:=|↔|<->|→|->|/|／|\s)\s*")
_ONE_WAY = re.compile(r"^[^→]+?\s*(?:→|->)")
_WILDCARD = r"[^\s，。；！？,.;!?]{0,8}"


def _pattern(term: str) -> re.Pattern[str]:
    return re.compile(_WILDCARD.join(re.escape(part) for part in term.split("*")))


@dataclass
class Vocabulary:
    groups: list[list[str]] = field(default_factory=list)
    one_way: list[int] = field(default_factory=list)  # groups only their first term opens

    def __post_init__(self) -> None:
        one_way = set(self.one_way)
        # The longest terms first: 市委书记 is matched before 书记 and 市委.
        self._terms = sorted({(t, i) for i, g in enumerate(self.groups)
                              for t in (g[:1] if i in one_way else g)},
                             key=lambda ti: -len(ti[0].replace("*", "")))
        self._patterns = {t: _pattern(t) for g in self.groups for t in g}

    def __len__(self) -> int:
        return len(self.groups)

    def terms_in(self, question: str) -> list[tuple[str, int]]:
        """(term, group) of each table term the question uses, longest first, not overlapping."""
        taken: list[tuple[int, int]] = []
        found = []
        for term, group in self._terms:
            for m in self._patterns[term].finditer(question):
                if m.end() > m.start() and not any(m.start() < e and s < m.end() for s, e in taken):
                    taken.append((m.start(), m.end()))
                    found.append((m.group(), group))
        return found

    def expansions(self, question: str) -> list[str]:
        """The other members of the groups the question's terms belong to (wildcards as
        their literal parts), for the lexical search."""
        out: list[str] = []
        for used, group in self.terms_in(question):
            for member in self.groups[group]:
                literal = " ".join(p for p in member.split("*") if p)
                if member != used and literal not in out and literal not in question:
                    out.append(literal)
        return out

    def question_for(self, question: str, passage: str) -> str:
        """The question with each of its terms the passage does not use replaced by a
        member of its group the passage does use (the first in the table's order)."""
        for used, group in self.terms_in(question):
            if used in passage:
                continue
            for member in self.groups[group]:
                m = self._patterns[member].search(passage)
                if m and m.group() != used:
                    question = question.replace(used, m.group())
                    break
        return question


def parse_vocabulary(text: str) -> tuple[Vocabulary, list[str]]:
    """The table and what was wrong with its lines (1-based line numbers)."""
    groups: list[list[str]] = []
    one_way: list[int] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        terms = list(dict.fromkeys(t for t in _SEPARATORS.split(line) if t))
        bad = [t for t in terms if len(t) > MAX_TERM_CHARS or t.strip("*") == "" or "**" in t]
        if len(terms) < 2 or bad:
            problems.append(f"line {number}: needs two or more terms of 1-{MAX_TERM_CHARS} characters")
            continue
        if len(groups) >= MAX_GROUPS:
            problems.append(f"more than {MAX_GROUPS} groups: the rest left out")
            break
        if _ONE_WAY.match(line):
            one_way.append(len(groups))
        groups.append(terms)
    return Vocabulary(groups, one_way), problems


def read_vocabulary(corpus_dir: Path) -> tuple[dict, str | None]:
    """The table as stored in a manifest ({"groups", "one_way"}; empty when the file is
    absent), and what was wrong with the file."""
    path = corpus_dir / VOCABULARY_FILE
    if not path.is_file():
        return {"groups": [], "one_way": []}, None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return {"groups": [], "one_way": []}, f"cannot be read as UTF-8 text: {exc}"
    vocabulary, problems = parse_vocabulary(text)
    stored = {"groups": vocabulary.groups, "one_way": vocabulary.one_way}
    return stored, ("; ".join(problems[:5]) + (" …" if len(problems) > 5 else "")) or None


def vocabulary_of(stored: object) -> Vocabulary:
    """The table from a manifest's entry; an empty one for indexes built before it existed."""
    if not isinstance(stored, dict):
        return Vocabulary()
    return Vocabulary([list(g) for g in stored.get("groups", [])], list(stored.get("one_way", [])))
