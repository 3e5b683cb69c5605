"""Who wrote an article: the names in its byline paragraphs, each at its offsets.

Newspaper bylines come in a few printed forms (corpus/layout.py tells their paragraphs
apart as ``byline``):

- ``本报讯(石家庄日报首席记者 齐广君 记者 郭慧)``: a reporter's title before each name;
- ``□石家庄日报首席记者 吴温``: the same after a box;
- ``(张建功、秦思、王凯凯、苏秋菊)``: names alone in brackets, closing the article.

A photo credit (``王 朋摄``) is a caption's, never a byline: such paragraphs are captions.
Names are read where the byline states them; nothing is guessed from body text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .ingest import Article

# A role printed before a name: 记者, 首席记者, 通讯员, 实习生, 本报记者, 特约撰稿人...
_ROLE = re.compile(r"(?:首席|特约|实习|见习)?(?:记者|通讯员|实习生|撰稿人?|编辑|作者)[:：]?\s*")
# A Chinese name of two to four characters, ending where the byline's words do.
_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}(?=$|[\s、,，)）])")
# Names alone in brackets: (张建功、秦思、王凯凯、苏秋菊); at most a few words each.
_BRACKETED = re.compile(r"^[(（]((?:[\u4e00-\u9fff]{2,4}[、,， ]\s*)*[\u4e00-\u9fff]{2,4})[)）]$")


@dataclass(frozen=True)
class Author:
    name: str  # as printed: the text at the offsets
    char_start: int  # article offsets of the name
    char_end: int
    paragraph: int


def authors_of(article: Article) -> list[Author]:
    """The authors the article's byline paragraphs name, in text order, each once."""
    found: list[Author] = []
    for paragraph in article.paragraphs:
        if paragraph.kind != "byline":
            continue
        line = article.text[paragraph.start : paragraph.end]
        for start, end in _names_in(line):
            found.append(Author(line[start:end], paragraph.start + start, paragraph.start + end,
                                paragraph.index))
    unique: dict[str, Author] = {}
    for author in found:
        unique.setdefault(author.name, author)
    return list(unique.values())


def _names_in(line: str) -> list[tuple[int, int]]:
    """Offsets of the names in one byline."""
    stripped = line.strip()
    offset = line.index(stripped[0]) if stripped else 0
    bracketed = _BRACKETED.match(stripped)
    if bracketed and not _ROLE.search(stripped):
        names = []
        base = offset + bracketed.start(1)
        for word in re.finditer(r"[\u4e00-\u9fff]{2,4}", bracketed.group(1)):
            names.append((base + word.start(), base + word.end()))
        return names
    names = []
    for role in _ROLE.finditer(line):
        m: re.Match[str] | None = _NAME.match(line, role.end())
        if m is not None:
            names.append((m.start(), m.end()))
        # Names that follow it, separated by 、 (记者 张三、李四).
        while m is not None and line.startswith("、", m.end()):
            m = _NAME.match(line, m.end() + 1)
            if m is not None:
                names.append((m.start(), m.end()))
    return names
