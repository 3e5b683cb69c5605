"""The chat page in a real headless Chromium (Debian's package), driven by Playwright."""

from __future__ import annotations

import os
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

from ..conftest import SEED_CORPUS, FakeEncoder, FakeReader

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
XSS_QUESTION = "<img src=x onerror=\"window.__xss='question'\"><script>window.__xss='q2'</script>厕所改造"
XSS_ARTICLE = (
    "<script>window.__xss='title'</script>恶意标题\n\n"
    "本报讯(记者 测试)\n\n"
    "这篇文章含有<img src=x onerror=\"window.__xss='article'\">标签,厕所改造共有九百九十九户。\n"
)

pytestmark = pytest.mark.browser


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        message = ("!!! Chromium is not installed: the browser tests of the chat page cannot run. "
                   "Install it with `apt-get install chromium` (.ci/run does). !!!")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser")
    corpus = root / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    (corpus / "xss.txt").write_text(XSS_ARTICLE, encoding="utf-8")
    encoder = FakeEncoder()
    build_index(Settings(corpus_dir=corpus, index_dir=root / "embeddings"), encoder)
    app = create_app({"INDEX_DIR": str(root / "embeddings"), "ENCODER": encoder, "READER": FakeReader(),
                      "MODEL": encoder.name})
    app.extensions["qa"].retriever.index.manifest["calibration"]["min_confidence"] = 0.15
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.alerts = []
    page.on("dialog", lambda d: (page.alerts.append(d.message), d.dismiss()))
    page.goto(live_server + "/")
    yield page
    context.close()


def ask(page: Any, question: str) -> Any:
    before = page.locator(".message.bot").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('.message.bot:not(.busy), .message.error').length > n", arg=before)
    return page.locator(".message.bot, .message.error").last


def test_ask_shows_the_answer_highlighted_with_citations(page: Any, tmp_path: Path) -> None:
    answer = ask(page, "全区共完成厕所改造多少户?")
    # The short answer first and large, then its sentence with the answer marked inside.
    short = answer.locator(".answer .short-answer")
    assert short.inner_text() == "14880户"
    sentence = answer.locator(".answer-sentence")
    assert "厕所改造14880户" in sentence.inner_text() and sentence.locator("mark").inner_text() == "14880户"
    assert float(short.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) > \
        float(sentence.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    cards = answer.locator(".source")
    assert cards.first.locator("mark").inner_text() == "14880户"
    assert cards.count() == 5
    assert "《藁城这一年》" in cards.first.inner_text()
    assert "000_84a38a59f6898cf4.txt" in cards.first.inner_text()
    answer.locator(".answer .cite").click()
    page.screenshot(path=str(tmp_path / "answered-chat.png"), full_page=True)
    assert (tmp_path / "answered-chat.png").stat().st_size > 10_000
    if os.environ.get("QA_SCREENSHOTS"):  # a folder to keep the screenshot in, to look at
        shutil.copy(tmp_path / "answered-chat.png", Path(os.environ["QA_SCREENSHOTS"]))
    assert "gen-000001" in page.inner_text("#status")


def test_source_expands_and_opens_the_article_at_the_passage(page: Any) -> None:
    answer = ask(page, "全区共完成厕所改造多少户?")
    card = answer.locator(".source").first
    card.get_by_role("button", name="展开段落").click()
    page.wait_for_selector(".source .paragraph")
    assert "14880户" in card.locator(".paragraph").inner_text()
    card.get_by_role("button", name="打开全文").click()
    dialog = page.locator("#article-view")
    dialog.locator("mark").first.wait_for()
    assert dialog.locator("#article-title").inner_text() == "藁城这一年"
    assert "14880户" in dialog.locator("mark").first.inner_text()
    assert dialog.locator("mark").first.is_visible()
    box, view = dialog.locator("mark").first.bounding_box(), dialog.bounding_box()
    assert view["y"] <= box["y"] <= view["y"] + view["height"]  # scrolled into view
    page.keyboard.press("Escape")
    assert not dialog.is_visible()


def test_history_survives_a_reload_and_can_be_cleared(page: Any) -> None:
    ask(page, "全区共完成厕所改造多少户?")
    page.reload()
    page.wait_for_selector(".message.user")
    assert "全区共完成厕所改造多少户?" in page.inner_text("#messages")
    assert page.locator(".message.bot .answer mark").count() >= 1
    page.click("#clear-history")
    assert page.locator(".message").count() == 0
    page.reload()
    assert page.locator(".message").count() == 0


def test_follow_up_questions_send_the_earlier_ones(page: Any) -> None:
    ask(page, "藁城区今年开工了多少个重点项目?")
    with page.expect_request("**/api/ask") as request:
        ask(page, "总投资是多少?")
    assert request.value.post_data_json["history"][-1] == "藁城区今年开工了多少个重点项目?"


def test_markup_in_questions_and_articles_renders_literally(page: Any) -> None:
    answer = ask(page, XSS_QUESTION)
    user = page.locator(".message.user .bubble").last
    assert user.inner_text() == XSS_QUESTION
    answer = ask(page, "九百九十九户厕所改造的恶意标题文章")
    card = answer.locator(".source", has_text="恶意标题").first
    assert "<script>" in card.inner_text() or "<img" in card.inner_text()
    card.get_by_role("button", name="打开全文").click()
    page.locator("#article-view mark").first.wait_for()
    assert "<img src=x" in page.inner_text("#article-body")
    assert page.locator("#messages img, #article-view img").count() == 0
    assert page.evaluate("window.__xss") is None
    assert page.alerts == []


def test_not_found_is_shown_as_such(page: Any, live_server: str) -> None:
    answer = ask(page, "鲸鱼宇航员弹钢琴")
    assert "没有找到" in answer.inner_text()
    assert answer.locator(".source.weak").count() >= 1 or answer.locator(".source").count() == 0


def test_keyboard_only_use(page: Any) -> None:
    assert page.evaluate("document.activeElement.id") == "question"
    page.keyboard.type("第一行")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("厕所改造")
    assert page.input_value("#question") == "第一行\n厕所改造"
    page.keyboard.press("Enter")
    page.wait_for_selector(".message.bot:not(.busy)")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"


def test_example_question_and_busy_state(page: Any) -> None:
    page.route("**/api/ask", lambda route: (page.wait_for_timeout(300), route.continue_()))
    page.locator(".example").first.click()
    page.wait_for_selector(".message.busy")
    assert page.locator("#send").is_disabled()
    page.wait_for_selector(".message.bot:not(.busy)")
    assert page.locator("#send").is_enabled()


def test_phone_width_layout(browser: Any, live_server: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(live_server + "/")
    ask(page, "全区共完成厕所改造多少户?")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    composer = page.locator("#ask-form").bounding_box()
    assert composer["x"] >= 0 and composer["x"] + composer["width"] <= 375
    page.screenshot(path=str(tmp_path / "phone.png"))
    context.close()


def test_errors_are_shown(page: Any) -> None:
    page.route("**/api/ask", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body='{"error": {"code": "not_ready", "message": "index is being rebuilt"}}'))
    answer = ask(page, "厕所改造")
    assert "出错了" in answer.inner_text() and "index is being rebuilt" in answer.inner_text()
