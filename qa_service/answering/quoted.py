"""What a question quotes: 《藁城这一年》, “五个一批”, "七一", 「…」.

Words between title marks or quotation marks are a name, never a time: 《藁城这一年》 is an
article, not "this year", and “七一”重要讲话 is a speech, not the first of July. They are
hidden from the time parser (``masked``), and a title in 《》 that is an article's title
scopes the search to that article (``scope_to_titles``).
"""

from __future__ import annotations

import re

import numpy as np

from ..corpus import normalize_text
from ..index import ChunkStore

# Each pair of marks, and what may stand between them (no nested mark of the same pair).
_QUOTED = re.compile(r"《[^《》]+》|〈[^〈〉]+〉|“[^“”]+”|‘[^‘’]+’|「[^「」]+」|『[^『』]+』|\"[^\"]+\"")
_TITLE = re.compile(r"《([^《》]+)》")
# Stands in for each quoted character: keeps offsets, and no time parser reads it as anything.
_HIDDEN = "_"
# Spaces and punctuation do not tell titles apart (《藁城 这一年》, 《藁城这一年。》).
_NOT_A_WORD = re.compile(r"[\W_]+")


def masked(question: str) -> str:
    """The question with every quoted character replaced, the marks and offsets kept."""
    return _QUOTED.sub(lambda m: m.group()[0] + _HIDDEN * (len(m.group()) - 2) + m.group()[-1], question)


def named_titles(question: str) -> list[str]:
    """The titles the question writes in 《》, in order, each once."""
    found = [m.group(1).strip() for m in _TITLE.finditer(question)]
    return list(dict.fromkeys(t for t in found if _plain(t)))


def _plain(text: str) -> str:
    return _NOT_A_WORD.sub("", normalize_text(text))


def scope_to_titles(store: ChunkStore, question: str,
                    allowed: np.ndarray | None) -> tuple[np.ndarray | None, list[dict]]:
    """The chunk ids to search where the question names articles by their titles in 《》
    (those articles' chunks, within ``allowed``), and the articles named as {id, title}
    (those whose title is the name, else those whose title contains it);
    ``allowed`` unchanged and [] where it names none the index holds (a law or a book the
    articles cite is found by its words, as before)."""
    wanted = [_plain(t) for t in named_titles(question)]
    if not wanted:
        return allowed, []
    # Punctuation and spaces aside, a title written in full names that article, not the
    # longer titles that contain it; else a part of a longer title (users shorten
    # 《石市举行2021年第四季度项目观摩活动并召开讲评总结大会》), of two characters or more.
    same: set[tuple[str, str]] = set()
    within: set[tuple[str, str]] = set()
    for title, article_id, searched_title in store.titles():
        have = _plain(title)
        if have in wanted:
            same.add((article_id, searched_title))
        elif any(len(w) >= 2 and w in have for w in wanted):
            within.add((article_id, searched_title))
    named = sorted(same or within)
    scoped = store.chunk_ids_of([article_id for article_id, _ in named])
    if allowed is not None:
        scoped = np.intersect1d(scoped, allowed)
    if len(scoped) == 0:
        return allowed, []
    return scoped, [{"id": article_id, "title": title} for article_id, title in named]
