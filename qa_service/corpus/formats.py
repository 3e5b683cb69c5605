"""Readers for the file formats bulletins come in: text, Markdown, PDF (with a text layer
or scanned), Word, web pages and images. Each turns a file's bytes into text the layout
repair of ``ingest.py`` then cleans, with the page each line came from.

One narrow interface (``read_file``), a reader per suffix chosen from ``READERS``. The
libraries are imported inside the readers: a corpus of .txt files never loads them, and
each reader runs in a sandboxed worker process (``sandbox.py``) with a time and memory
limit, so a hostile file cannot hang or exhaust the build.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PAGE_BREAK = "\f"  # a line of its own between pages; ingest.py counts pages by it
MAX_PAGES = 2000  # beyond any bulletin; a "PDF bomb" declares millions
MIN_TEXT_CHARS = 20  # a PDF page with less text than this is a scan: OCR it
OCR_SCALE = 200 / 72  # render scanned pages at 200 dpi
MAX_IMAGE_PIXELS = 60_000_000  # a decompression bomb of an image is refused, not decoded


class UnreadableFile(ValueError):
    """A file that cannot be read as its format (the message says why)."""


@dataclass
class Extracted:
    text: str  # pages joined by PAGE_BREAK lines
    meta: dict[str, str] = field(default_factory=dict)  # title, date, url, source where known
    pages: int | None = None  # None: a format without pages
    ocr_pages: list[int] = field(default_factory=list)  # 1-based pages read by OCR
    empty_pages: list[int] = field(default_factory=list)  # pages that gave no text at all
    ocr_seconds: float = 0.0


def _decode_text(data: bytes) -> Extracted:
    from .ingest import decode_bytes  # the encodings detection the corpus always used

    return Extracted(decode_bytes(data))


def _ocr_lines(image: object) -> list[str]:
    """Text lines of an image, top to bottom, by RapidOCR (its Chinese models ship in the wheel)."""
    from rapidocr_onnxruntime import RapidOCR

    engine = _ocr_engine(RapidOCR)
    result, _ = engine(image)
    if not result:
        return []
    # Boxes are [[x, y] × 4]; reading order is by the top edge, then left to right.
    boxes = sorted(result, key=lambda r: (round(min(p[1] for p in r[0]) / 12), min(p[0] for p in r[0])))
    return [str(text) for _, text, _ in boxes]


_ENGINES: dict[str, object] = {}


def _ocr_engine(factory: Callable[[], object]) -> Callable:
    # One engine per worker process: loading the models takes a second.
    if "ocr" not in _ENGINES:
        _ENGINES["ocr"] = factory()
    return _ENGINES["ocr"]  # type: ignore[return-value]


def _read_pdf(data: bytes) -> Extracted:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise UnreadableFile("encrypted PDF: it needs a password") from exc
        raise UnreadableFile(f"not a readable PDF ({exc})") from exc
    try:
        count = len(document)
        if count > MAX_PAGES:
            raise UnreadableFile(f"{count} pages; at most {MAX_PAGES}")
        title = (document.get_metadata_dict().get("Title") or "").strip()
        # A PDF's own title is often a template's ("Microsoft Word - 文档1"): used only
        # where the text shows no headline (ingest.source_is_titled).
        meta = {"title": title, "title_from": "document"} if title else {}
        pages: list[str] = []
        out = Extracted("", meta=meta, pages=count)
        for number in range(1, count + 1):
            page = document[number - 1]
            text = page.get_textpage().get_text_range().replace("\r\n", "\n").replace("\r", "\n")
            if len(text.strip()) < MIN_TEXT_CHARS:
                started = time.perf_counter()
                image = page.render(scale=OCR_SCALE).to_pil()
                lines = _ocr_lines(image)
                out.ocr_seconds += time.perf_counter() - started
                out.ocr_pages.append(number)
                text = "\n".join(lines) if lines else text
            if not text.strip():
                out.empty_pages.append(number)
            pages.append(text)
        out.text = f"\n{PAGE_BREAK}\n".join(pages)
        return out
    finally:
        document.close()


def _read_image(data: bytes) -> Extracted:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, Image.DecompressionBombError, ValueError) as exc:
        raise UnreadableFile(f"not a readable image ({exc})") from exc
    started = time.perf_counter()
    lines = _ocr_lines(image.convert("RGB"))
    out = Extracted("\n".join(lines), pages=1, ocr_pages=[1], ocr_seconds=time.perf_counter() - started)
    if not lines:
        out.empty_pages.append(1)
    return out


def _read_docx(data: bytes) -> Extracted:
    import zipfile

    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph as DocxParagraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableFile(f"not a readable Word file ({exc})") from exc
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, DocxParagraph):
            text = block.text.strip()
            style = (block.style.name if block.style is not None else "").lower()
            if text and (style.startswith("heading") or style == "title"):
                lines.append(f"# {text}")  # a heading stays a line of its own (ingest's Markdown rule)
            elif text:
                lines.append(text)
        elif isinstance(block, Table):
            for row in block.rows:
                cells = [c.text.strip() for c in row.cells]
                # Merged cells repeat their text in every cell they span: once is enough.
                kept = [c for i, c in enumerate(cells) if c and (i == 0 or c != cells[i - 1])]
                if kept:
                    lines.append(" | ".join(kept))
    # Only the title: the creation date is often the template's (python-docx's own says 2013).
    title = (document.core_properties.title or "").strip()
    meta = {"title": title} if title else {}
    if "title" in meta:
        meta["title_from"] = "document"
    return Extracted("\n\n".join(lines), meta=meta)


def _read_html(data: bytes) -> Extracted:
    import trafilatura

    from .ingest import decode_bytes

    html = decode_bytes(data)
    document = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                           include_tables=True, favor_precision=True)
    text = (getattr(document, "text", None) or "").strip() if document is not None else ""
    if not text:
        raise UnreadableFile("no main text found in the web page")
    meta = {}
    for key in ("title", "date", "url", "sitename"):
        value = getattr(document, key, None)
        if value:
            meta["source" if key == "sitename" else key] = str(value).strip()
    return Extracted(text, meta=meta)


READERS: dict[str, Callable[[bytes], Extracted]] = {
    ".txt": _decode_text, ".md": _decode_text,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
    ".html": _read_html, ".htm": _read_html,
    ".png": _read_image, ".jpg": _read_image, ".jpeg": _read_image,
}
PLAIN_SUFFIXES = (".txt", ".md")  # read in the build process itself: no library, no risk


def read_file(path: Path) -> Extracted:
    """The text of a corpus file by its suffix; UnreadableFile says why it cannot be read."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UnreadableFile(f"unsupported file type {path.suffix or '(none)'}")
    data = path.read_bytes()
    if not data:
        raise UnreadableFile("empty file")
    return reader(data)
