"""The admin page in headless Chromium: log in, upload a PDF and a Word file, watch the
rebuild, ask about them in the chat page with a page citation, delete one."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from qa_service.config import Settings
from qa_service.index import build_index
from qa_service.web import create_app

from ..conftest import SEED_CORPUS, FakeEncoder, FakeReader, require_chromium
from ..corpus.test_formats import docx_file, text_pdf
from .test_browser import ask, keep_screenshot

TOKEN = "page-admin-token"
pytestmark = pytest.mark.browser


@pytest.fixture
def admin_server(tmp_path: Path) -> Iterator[str]:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    encoder = FakeEncoder()
    build_index(Settings(corpus_dir=corpus, index_dir=tmp_path / "embeddings"), encoder)
    reader = FakeReader({"第17批": "17亿元", "藏书": "120万册"})
    app = create_app({"INDEX_DIR": str(tmp_path / "embeddings"), "CORPUS_DIR": str(corpus),
                      "ENCODER": encoder, "READER": reader, "MODEL": encoder.name, "ADMIN_TOKEN": TOKEN,
                      "RELOAD_SECONDS": 0.2})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def browser_context(tmp_path: Path) -> Iterator[Any]:
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        yield browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
        browser.close()


def test_a_wrong_token_is_refused(browser_context: Any, admin_server: str) -> None:
    page = browser_context.new_page()
    page.goto(admin_server + "/admin")
    page.fill("#token", "wrong")
    page.click("#login-form button")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "令牌不对" in page.inner_text("#login-error")
    assert not page.locator("#console").is_visible()


def test_upload_rebuild_ask_with_page_and_delete(browser_context: Any, admin_server: str,
                                                 tmp_path: Path) -> None:
    page = browser_context.new_page()
    pdf = tmp_path / "汇编.pdf"
    pdf.write_bytes(text_pdf(page, 20))
    word = tmp_path / "library.docx"
    word.write_bytes(docx_file())
    page.goto(admin_server + "/admin")
    page.fill("#token", TOKEN)
    page.click("#login-form button")
    page.wait_for_selector("#console:not([hidden])")
    assert TOKEN not in page.url and browser_context.cookies() == []  # only in sessionStorage
    page.set_input_files("#files", [str(pdf), str(word)])
    page.wait_for_function("() => document.querySelectorAll('#upload-results li.ok').length === 2")
    page.wait_for_selector("#build-report .ok", timeout=120_000)  # the rebuild finished
    assert "新增 2" in page.inner_text("#build-report")
    page.wait_for_function("() => [...document.querySelectorAll('#articles .article-title')].some("
                           "title => title.textContent === '藁城区重点项目汇编')")
    row = page.locator("#articles tr", has_text="藁城区重点项目汇编")
    assert "pdf" in row.inner_text() and "20" in row.inner_text()
    # Each article's byline authors, and its summary folded (chosen at build time).
    seed = page.locator("#articles tr", has_text="藁城这一年")
    assert seed.locator(".authors").inner_text() == "作者：张建功、秦思、王凯凯、苏秋菊"
    seed.locator("details.summary summary").click()
    assert seed.locator("details.summary li").first.inner_text().startswith("导语 今年以来")
    keep_screenshot(page, tmp_path, "admin.png")

    chat = browser_context.new_page()
    chat.goto(admin_server + "/")
    answer = ask(chat, "第17批重点项目完成投资多少？")
    assert answer.locator(".short-answer").inner_text() == "17亿元"
    assert "第17页" in answer.locator(".answer-cite").inner_text()
    keep_screenshot(chat, tmp_path, "chat-pdf-answer.png")
    assert ask(chat, "图书馆藏书多少册？").locator(".short-answer").inner_text() == "120万册"

    page.fill("#search", "图书馆")
    page.wait_for_function("() => document.querySelectorAll('#articles tbody tr').length === 1")
    delete = page.locator("#articles tbody tr").first.get_by_role("button", name="删除")
    delete.click()
    page.locator("#articles tbody tr").first.get_by_role("button", name="确认删除？").click()
    page.wait_for_function("() => document.querySelector('#build-report .ok')"
                           "?.textContent.includes('删除 1')", timeout=120_000)
    gone = ask(chat, "图书馆藏书多少册？")
    assert gone.locator(".short-answer").count() == 0  # not found any more
