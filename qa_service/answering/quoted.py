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


def names_title(name: str, title: str, exactly: bool) -> bool:
    """Whether ``name``, as a question writes it in 《》, names an article titled ``title``,
    punctuation and spaces aside: the same words, or (not ``exactly``) a part of a longer
    title of two characters or more (users shorten 《石市举行2021年第四季度项目观摩活动
    并召开讲评总结大会》)."""
    wanted, have = _plain(name), _plain(title)
    if not wanted or not have:
        return False
    return wanted == have or (not exactly and len(wanted) >= 2 and wanted in have)


def scope_to_titles(store: ChunkStore, question: str,
                    allowed: np.ndarray | None) -> tuple[np.ndarray | None, list[dict]]:
    """The chunk ids to search where the question names articles by their titles in 《》
    (those articles' chunks, within ``allowed``), and the articles named as {id, title}
    (those whose title is the name, else those whose title contains it);
    ``allowed`` unchanged and [] where it names none the index holds (a law or a book the
    articles cite is found by its words, as before)."""
    titles = named_titles(question)
    if not titles:
        return allowed, []
    # A title written in full names that article, not the longer titles that contain it.
    named = (store.articles_titled(lambda title: any(names_title(t, title, True) for t in titles))
             or store.articles_titled(lambda title: any(names_title(t, title, False) for t in titles)))
    scoped = store.chunk_ids_of([article_id for article_id, _ in named])
    if allowed is not None:
        scoped = np.intersect1d(scoped, allowed)
    if len(scoped) == 0:
        return allowed, []
    return scoped, [{"id": article_id, "title": title} for article_id, title in named]
