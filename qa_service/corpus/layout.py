"""Lines of extracted text into paragraphs: breaks made by page layout joined, headings,
bylines and photo captions kept apart and told from body text.

Scanned newspaper pages break sentences at line ends and print captions, bylines and
credits on lines of their own; punctuation, length and a few printed markers tell them
apart (Chinese headings carry no inner punctuation; a caption ends with its credit, 摄).
"""

from __future__ import annotations

import re

from .formats import PAGE_BREAK

# A fragment ending in one of these (optionally followed by closing quotes/brackets)
# ends a sentence, so the line break after it is a real paragraph break.
_SENTENCE_END = re.compile(r"[。！？!?;；…:：][”’\"'）)》」』]*$")
_INNER_PUNCT = re.compile(r"[，,。；;！!？?、：:]")
_CREDIT_ONLY = re.compile(r"^\S{1,4}(?: \S{1,3})?摄$")
_BYLINE = re.compile(r"^(本报讯|□|■|◎|记者|通讯员)|^[(（][^()（）]{1,40}[)）]$")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_LATIN_EDGE = re.compile(r"[A-Za-z0-9]")
# English has no heading-free punctuation cue: a line ending in a lowercase word that
# runs into a lowercase word or number is one sentence broken by layout.
_LATIN_TAIL = re.compile(r"[a-z,]$")
_LATIN_HEAD = re.compile(r"^[a-z0-9]")
HEADING_MAX_CHARS = 50


def _normalise_line(line: str) -> str:
    # Scanned pages pad with ideographic and non-breaking spaces; NUL and other
    # control characters are noise from extraction.
    line = line.replace("\u3000", " ").replace("\xa0", " ")
    line = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", line)
    return re.sub(r"[ \t]+", " ", line).strip()


def ends_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(text))


def is_heading_like(text: str) -> bool:
    return len(text) <= HEADING_MAX_CHARS and not _INNER_PUNCT.search(text)


def _join(left: str, right: str) -> str:
    glue = " " if _LATIN_EDGE.match(left[-1]) and _LATIN_EDGE.match(right[0]) else ""
    return left + glue + right


def repair_fragments(lines: list[str]) -> list[str]:
    """Join lines broken by page layout; keep headings, bylines and captions apart."""
    return [text for text, _ in repair_with_pages(lines)]


def repair_with_pages(lines: list[str], paged: bool = False) -> list[tuple[str, int | None]]:
    """``repair_fragments`` with the page each paragraph starts on: pages are separated
    by PAGE_BREAK lines (a text with none and not ``paged`` has no pages: None)."""
    paged = paged or PAGE_BREAK in lines
    page = 1
    paragraphs: list[str] = []
    pages: list[int | None] = []
    for raw in lines:
        if raw == PAGE_BREAK:
            page += 1
            continue
        line = _normalise_line(raw)
        if not line:
            continue
        if _MD_HEADING.match(line):
            paragraphs.append(_MD_HEADING.sub("", line))
            pages.append(page if paged else None)
            continue
        if paragraphs:
            prev = paragraphs[-1]
            if _CREDIT_ONLY.match(line) and len(prev) <= 60 and not _CREDIT_ONLY.match(prev):
                # A photographer credit printed on its own line belongs to its caption.
                paragraphs[-1] = prev + " " + line
                continue
            # A caption ends with its photographer's credit (…摄), not with punctuation.
            complete = ends_sentence(prev) or is_heading_like(prev) or prev.endswith("摄")
            latin_run_on = bool(_LATIN_TAIL.search(prev) and _LATIN_HEAD.match(line))
            continues = not is_heading_like(line) and not _BYLINE.match(line)
            if latin_run_on or (not complete and continues):
                # A sentence running on over a page break stays one paragraph, cited by
                # the page it starts on.
                paragraphs[-1] = _join(prev, line)
                continue
        paragraphs.append(line)
        pages.append(page if paged else None)
    return list(zip(paragraphs, pages, strict=True))


def classify(text: str) -> str:
    if text.endswith("摄") and len(text) <= 80:
        return "caption"
    if _BYLINE.match(text) and len(text) <= 80:
        return "byline"
    if is_heading_like(text) and not ends_sentence(text):
        return "heading"
    return "body"
