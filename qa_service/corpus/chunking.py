"""Sentence splitting and chunk packing with exact character offsets.

Chunks are what gets embedded and retrieved. They are packed from whole sentences of
about ``target_chars`` characters, stay inside one paragraph where the paragraph is long
enough, merge short paragraphs (headings, captions) with their neighbours, and overlap
by one short sentence so that an answer on a chunk border is found from either side.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ingest import Article

SENTENCE_TERMINATORS = frozenset("。！？!?；;…")
CLOSERS = frozenset("”’\"'）)》」』】")
SOFT_BREAKS = frozenset("，,、：:")


@dataclass(frozen=True)
class ChunkingSettings:
    target_chars: int = 250
    max_chars: int = 400
    min_chars: int = 100  # a paragraph break closes a chunk once it is this long
    overlap_chars: int = 80  # carry the last sentence over when it is at most this long

    def fingerprint(self) -> dict[str, int]:
        return {"target_chars": self.target_chars, "max_chars": self.max_chars,
                "min_chars": self.min_chars, "overlap_chars": self.overlap_chars}


@dataclass(frozen=True)
class Chunk:
    article_id: str
    ordinal: int
    paragraph: int
    paragraph_end: int
    char_start: int
    char_end: int
    text: str


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans (start, end) in ``text[start:end]``, whitespace between them excluded.

    A sentence ends at Chinese or Western end punctuation (with any closing quotes after
    it). A full stop ends a sentence only before whitespace or the end, so numbers like
    204.95 are never split.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    i = start
    sentence_start: int | None = None
    while i < end:
        ch = text[i]
        if sentence_start is None:
            if ch.isspace():
                i += 1
                continue
            sentence_start = i
        is_end = ch in SENTENCE_TERMINATORS or (
            ch == "." and (i + 1 >= end or text[i + 1].isspace())
        )
        if ch == "\n":
            spans.append((sentence_start, _rstrip(text, sentence_start, i)))
            sentence_start = None
        elif is_end:
            j = i + 1
            while j < end and (text[j] in SENTENCE_TERMINATORS or text[j] in CLOSERS):
                j += 1
            spans.append((sentence_start, j))
            sentence_start = None
            i = j
            continue
        i += 1
    if sentence_start is not None:
        stop = _rstrip(text, sentence_start, end)
        if stop > sentence_start:
            spans.append((sentence_start, stop))
    return [(a, b) for a, b in spans if b > a]


def _rstrip(text: str, start: int, stop: int) -> int:
    while stop > start and text[stop - 1].isspace():
        stop -= 1
    return stop


def _split_long(text: str, span: tuple[int, int], max_chars: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence at soft breaks (commas), or hard at max_chars."""
    start, end = span
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        window_end = start + max_chars
        cut = next((k + 1 for k in range(window_end - 1, start + max_chars // 2, -1)
                    if text[k] in SOFT_BREAKS), window_end)
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def sentence_units(article: Article, max_chars: int) -> list[tuple[int, int, int]]:
    """(start, end, paragraph index) of every sentence, over-long ones cut to max_chars.

    Chunks are packed from these units, so every chunk holds whole units; the answer
    sentence is chosen among them.
    """
    units: list[tuple[int, int, int]] = []
    for para in article.paragraphs:
        for span in split_sentences(article.text, para.start, para.end):
            for piece in _split_long(article.text, span, max_chars):
                units.append((piece[0], piece[1], para.index))
    return units


def chunk_article(article: Article, settings: ChunkingSettings | None = None) -> list[Chunk]:
    settings = settings or ChunkingSettings()
    text = article.text
    units = sentence_units(article, settings.max_chars)

    chunks: list[Chunk] = []
    current: list[tuple[int, int, int]] = []

    def close() -> None:
        first, last = current[0], current[-1]
        chunks.append(Chunk(article.id, len(chunks), first[2], last[2], first[0], last[1],
                            text[first[0] : last[1]]))

    for unit in units:
        if current:
            length_with_unit = unit[1] - current[0][0]
            new_paragraph = unit[2] != current[-1][2]
            long_enough = current[-1][1] - current[0][0] >= settings.min_chars
            if length_with_unit > settings.target_chars or (new_paragraph and long_enough):
                close()
                carry = current[-1]
                keep_overlap = (
                    not new_paragraph
                    and len(current) > 1
                    and carry[1] - carry[0] <= settings.overlap_chars
                    and unit[1] - carry[0] <= settings.max_chars
                )
                current = [carry] if keep_overlap else []
        current.append(unit)
    if current:
        close()
    return chunks


def embedding_text(title: str, chunk_text: str) -> str:
    """What the encoder sees: the article title gives each passage its context."""
    return f"{title}\n{chunk_text}" if title else chunk_text
