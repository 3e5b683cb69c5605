"""Real file formats into articles: files the tests make (Chromium's print-to-PDF, a
screenshot as a scan, python-docx, an HTML page with navigation), and hostile ones."""

from __future__ import annotations

import io
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qa_service.corpus import read_corpus
from qa_service.corpus.formats import UnreadableFile
from qa_service.corpus.sandbox import SandboxedReader

from ..conftest import require_chromium

PAGE_TEXT = "第{n}页：本页报道藁城区第{n}批重点项目，共完成投资{n}亿元，新建道路{n}条，群众获得感持续提升。"


@pytest.fixture(scope="module")
def chromium_page() -> Iterator[Any]:
    chromium = require_chromium()  # it prints the test PDFs
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        yield browser.new_page(viewport={"width": 900, "height": 500})
        browser.close()


def text_pdf(page: Any, pages: int) -> bytes:
    """A Chinese PDF with a text layer, one paragraph per page, by Chromium's print-to-PDF."""
    body = "".join(f'<p style="break-after: page">{PAGE_TEXT.format(n=n)}</p>' for n in range(1, pages + 1))
    page.set_content(f"<html lang='zh-CN'><body><h1>藁城区重点项目汇编</h1>{body}</body></html>")
    return bytes(page.pdf(format="A5"))


def text_image(page: Any, text: str) -> bytes:
    """A PNG of Chinese text in a CJK font, as a scanner would see a printed line."""
    page.set_content(f"<html><body style='margin:40px;font-size:34px;font-family:sans-serif'>"
                     f"<p>{text}</p></body></html>")
    return bytes(page.screenshot(full_page=True))


def scanned_pdf(page: Any, texts: list[str]) -> bytes:
    """A PDF of images only, no text layer: what a scanner makes."""
    from PIL import Image

    images = [Image.open(io.BytesIO(text_image(page, t))).convert("RGB") for t in texts]
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=100)
    return out.getvalue()


def docx_file() -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = "模板标题"
    document.add_heading("藁城区图书馆新馆开放", level=1)
    document.add_paragraph("藁城区图书馆新馆于12月20日正式开放，馆内藏书120万册。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "阅览座位", "800个"
    table.cell(1, 0).text, table.cell(1, 1).text = "电子阅览室", "2间"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


HTML_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>藁城区新建公园三座 - 石家庄日报</title>
<meta property="og:title" content="藁城区新建公园三座">
<meta name="date" content="2021-12-21">
<link rel="canonical" href="https://example.org/news/parks.html">
</head><body>
<nav><ul><li><a href="/">首页</a></li><li><a href="/news">新闻中心</a></li>
<li><a href="/about">联系我们</a></li></ul></nav>
<article><h1>藁城区新建公园三座</h1>
<p>今年以来，藁城区新建城市公园三座，新增绿地面积45公顷，市民休闲去处明显增多。</p>
<p>区园林局介绍，三座公园均已对外开放，配套建设健身步道12公里，方便群众日常锻炼。</p>
<p>明年，藁城区还将继续推进口袋公园建设，计划新建口袋公园20个，进一步提升城市品质。</p>
</article>
<footer>版权所有 © 石家庄日报社 备案号 冀ICP备00000000号 联系电话 0311-00000000</footer>
</body></html>"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, chromium_page: Any) -> Path:
    folder = tmp_path_factory.mktemp("formats") / "corpus"
    folder.mkdir()
    (folder / "projects.pdf").write_bytes(text_pdf(chromium_page, 20))
    (folder / "scan.pdf").write_bytes(scanned_pdf(chromium_page, [
        "藁城区今年新建污水处理厂两座。", "第二页：全区完成植树造林三万亩。"]))
    (folder / "notice.png").write_bytes(text_image(chromium_page, "藁城区体育馆将于明年五月建成。"))
    (folder / "library.docx").write_bytes(docx_file())
    (folder / "parks.html").write_text(HTML_PAGE, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def articles(corpus: Path) -> dict[str, Any]:
    result = read_corpus(corpus)
    assert result.skipped == []
    return {"result": result, **{a.source.rsplit(".", 1)[0]: a for a in result.articles}}


def page_of(article: Any, text: str) -> int | None:
    start = article.text.index(text)
    return next(p.page for p in article.paragraphs if p.start <= start < p.end)


pytestmark = pytest.mark.browser


def test_a_text_pdf_keeps_reading_order_and_the_page_of_each_paragraph(articles: dict[str, Any]) -> None:
    pdf = articles["projects"]
    assert pdf.title == "藁城区重点项目汇编"
    assert page_of(pdf, "第17页：本页报道藁城区第17批重点项目") == 17
    assert page_of(pdf, "第1页：") == 1
    positions = [pdf.text.index(f"第{n}页：") for n in range(1, 21)]
    assert positions == sorted(positions)


def test_scanned_pages_and_images_are_read_by_ocr_and_reported(articles: dict[str, Any]) -> None:
    scan, image = articles["scan"], articles["notice"]
    assert "污水处理厂" in scan.text and page_of(scan, "植树造林") == 2
    assert "体育馆" in image.text and image.paragraphs[0].page == 1
    reports = {r.source: r for r in articles["result"].ocr}
    assert reports["scan.pdf"].ocr_pages == [1, 2] and reports["scan.pdf"].seconds > 0
    assert "projects.pdf" not in reports  # a text layer needs no OCR


def test_word_headings_become_titles_and_tables_rows(articles: dict[str, Any]) -> None:
    doc = articles["library"]
    assert doc.title == "藁城区图书馆新馆开放"  # the heading, not the template's metadata title
    assert "阅览座位 | 800个" in doc.text and "藏书120万册" in doc.text
    assert all(p.page is None for p in doc.paragraphs)


def test_a_web_page_gives_its_main_text_and_metadata(articles: dict[str, Any]) -> None:
    # A web page's source is its site's name where the page gives one, not the file.
    page = next(a for a in articles["result"].articles if "公园" in a.title)
    assert page.title == "藁城区新建公园三座"
    assert "新增绿地面积45公顷" in page.text and "口袋公园20个" in page.text
    assert "联系我们" not in page.text and "备案号" not in page.text  # no menus or footers
    assert page.date == "2021-12-21" and page.url == "https://example.org/news/parks.html"


def _encrypted_pdf(source: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
    writer.encrypt(user_password="secret", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _many_pages(count: int) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(width=72, height=72)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _inflating_pdf(megabytes: int) -> bytes:
    """One page whose content stream inflates from about 1 MB to ``megabytes``."""
    stream = zlib.compress(b"0 0 m " * (megabytes * 1024 * 1024 // 6), 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_hostile_files_are_skipped_with_a_reason_and_the_rest_is_read(
        tmp_path: Path, chromium_page: Any, corpus: Path) -> None:
    folder = tmp_path / "hostile"
    folder.mkdir()
    shutil.copy(corpus / "library.docx", folder / "good.docx")
    (folder / "locked.pdf").write_bytes(_encrypted_pdf(text_pdf(chromium_page, 1)))
    (folder / "pages.pdf").write_bytes(_many_pages(2500))
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "text.docx").write_text("这不是Word文件。", encoding="utf-8")  # wrong extension
    (folder / "fake.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    result = read_corpus(folder)
    reasons = {s.source: s.reason for s in result.skipped}
    assert "password" in reasons["locked.pdf"]
    assert "2500 pages" in reasons["pages.pdf"]
    assert "empty" in reasons["empty.pdf"]
    assert "Word" in reasons["text.docx"] and "image" in reasons["fake.png"]
    assert [a.source for a in result.articles] == ["good.docx"]


def test_a_reader_that_runs_too_long_or_too_large_is_stopped(tmp_path: Path, chromium_page: Any) -> None:
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(_inflating_pdf(1500))
    with SandboxedReader(seconds=60, memory_bytes=768 * 1024**2) as small, pytest.raises(UnreadableFile):
        small.read(bomb)
    with SandboxedReader() as reader:
        slow = tmp_path / "slow.png"
        slow.write_bytes(text_image(chromium_page, "一段需要识别的文字。" * 3))
        reader.seconds = 0.05  # OCR takes longer than this
        with pytest.raises(UnreadableFile, match="longer than"):
            reader.read(slow)
        reader.seconds = 120
        assert "识别" in reader.read(slow).text  # the worker was replaced and reads again


def test_built_and_asked_a_pdf_answer_cites_its_page_and_scans_are_not_ocrd_twice(
        corpus: Path, tmp_path: Path) -> None:
    from qa_service.answering import Retriever
    from qa_service.config import Settings
    from qa_service.index import build_index, load_index

    from ..conftest import FakeEncoder, FakeReader

    encoder = FakeEncoder()
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "embeddings")
    first = build_index(settings, encoder)
    assert {o["source"] for o in first.ocr_files} == {"scan.pdf", "notice.png"}
    assert "OCR: scan.pdf: 2 of 2 page(s)" in first.describe()
    second = build_index(settings, encoder)
    assert second.ocr_files == [] and second.articles_reused == first.articles  # the OCR'd text was kept
    retriever = Retriever(load_index(settings.index_dir), encoder, reader=FakeReader({"第17批": "17亿元"}))
    result = retriever.ask("第17批重点项目完成投资多少？")
    assert result["found"] and result["answer"]["text"] == "17亿元"
    assert result["answer"]["page"] == 17  # the answer's own page
    assert result["passages"][0]["page"] <= 17  # the page its passage starts on
