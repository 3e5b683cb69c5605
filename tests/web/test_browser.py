"""The chat page in a real headless Chromium (Debian's package), driven by Playwright."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from qa_service.cli import main
from qa_service.config import Settings
from qa_service.index import build_index
from qa_service.web import create_app

from ..conftest import SEED_ANSWERS, SEED_CORPUS, FakeEncoder, FakeReader, require_chromium

XSS_QUESTION = "<img src=x onerror=\"window.__xss='question'\"><script>window.__xss='q2'</script>厕所改造"
LIBRARY_BODY = ("市图书馆新馆今天正式开放，馆内藏书120万册，设有少儿阅览区、古籍修复室和"
                "二十四小时自助借还区，每天可接待读者五千人次。")
DATED_ARTICLE = f"---\ntitle: 图书馆新馆开放\ndate: 2021-12-20\nsource: 石家庄日报\n---\n{LIBRARY_BODY}\n"
# The same report republished a day later under another headline, with a byline.
REPRINT_ARTICLE = (f"---\ntitle: 新馆迎客\ndate: 2021-12-21\nsource: 河北日报\n---\n新馆迎客\n\n"
                   f"本报记者 王五\n\n{LIBRARY_BODY.replace('今天', '20日')}\n")
EXAMPLES = ["图书馆藏书多少册？", "全区共完成厕所改造多少户?"]
XSS_ARTICLE = (
    "<script>window.__xss='title'</script>恶意标题\n\n"
    "本报讯(记者 测试)\n\n"
    "这篇文章含有<img src=x onerror=\"window.__xss='article'\">标签,厕所改造共有九百九十九户。\n"
)

pytestmark = pytest.mark.browser


def _serve(root: Path) -> tuple[Any, str, Any]:
    corpus = root / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    (corpus / "xss.txt").write_text(XSS_ARTICLE, encoding="utf-8")
    (corpus / "dated.md").write_text(DATED_ARTICLE, encoding="utf-8")
    (corpus / "reprint.md").write_text(REPRINT_ARTICLE, encoding="utf-8")
    (corpus / "example_questions.json").write_text(json.dumps(EXAMPLES, ensure_ascii=False), encoding="utf-8")
    encoder = FakeEncoder()
    build_index(Settings(corpus_dir=corpus, index_dir=root / "embeddings"), encoder)
    reader = FakeReader({**SEED_ANSWERS, "藏书": "120万册", "哪几个方面": "常抓不懈的姿态推动项目建设",
                         "投产": "生活垃圾资源化项目正式投产"})
    app = create_app({"INDEX_DIR": str(root / "embeddings"), "CORPUS_DIR": str(corpus), "ENCODER": encoder,
                      "READER": reader, "MODEL": encoder.name, "RELOAD_SECONDS": 0.2})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, f"http://127.0.0.1:{server.server_port}", server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    app, url, server = _serve(tmp_path_factory.mktemp("browser"))
    yield app, url
    server.shutdown()


@pytest.fixture(scope="module")
def live_server(served: tuple[Any, str]) -> str:
    return served[1]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, headless=True,
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
    before = page.locator(".message.bot:not(.busy), .message.error").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('.message.bot:not(.busy), .message.error').length > n", arg=before)
    return page.locator(".message.bot, .message.error").last


def keep_screenshot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / name), full_page=False)
    assert (tmp_path / name).stat().st_size > 10_000
    if os.environ.get("QA_SCREENSHOTS"):  # a folder to keep the screenshots in, to look at
        shutil.copy(tmp_path / name, Path(os.environ["QA_SCREENSHOTS"]))


def filled_length(locator: Any) -> int:
    """Characters shown on a coloured background (what reads as highlighted)."""
    return int(locator.evaluate("""box => [...box.querySelectorAll('mark')]
        .filter(m => getComputedStyle(m).backgroundColor !== 'rgba(0, 0, 0, 0)')
        .reduce((n, m) => n + m.textContent.length, 0)"""))


def marked_text(locator: Any, kind: str) -> list[str]:
    return locator.locator(f"mark.{kind}").all_inner_texts()


def test_the_short_answer_comes_first_with_its_citation_and_its_context(page: Any, tmp_path: Path) -> None:
    answer = ask(page, "全区共完成厕所改造多少户?")
    short = answer.locator(".short-answer")
    assert short.inner_text() == "14880户"
    assert "《藁城这一年》" in answer.locator(".answer-cite").inner_text()
    card = answer.locator(".source").first
    assert "".join(marked_text(card, "answer")) == "14880户"  # the span, inside its sentence
    assert "厕所改造" in "".join(marked_text(card, "sentence"))
    assert float(short.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) > \
        float(card.locator(".source-text").evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    assert re.fullmatch(r"用时 \d+\.\d\d 秒", answer.locator(".took").inner_text())
    assert "gen-000001" in page.inner_text("#status")
    keep_screenshot(page, tmp_path, "desktop-answer.png")


# 1
@pytest.mark.parametrize("viewport", [{"width": 1100, "height": 700}, {"width": 375, "height": 740}])
def test_each_new_answer_lands_below_the_top_bar(browser: Any, live_server: str, viewport: dict) -> None:
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    page.goto(live_server + "/")
    bar = page.locator("#topbar").bounding_box()
    for question in ["全区共完成厕所改造多少户?", "大会由谁主持?", "全区共完成厕所改造多少户?"]:
        answer = ask(page, question)
        asked = page.locator(".message.user").last.bounding_box()
        top = answer.bounding_box()
        assert asked["y"] >= bar["y"] + bar["height"] - 1  # the question is not under the bar
        assert top["y"] < viewport["height"] - 100  # and the answer's first lines show
    context.close()


# 2
def test_not_found_is_said_once_with_the_nearest_passages_folded_and_unmarked(page: Any) -> None:
    answer = ask(page, "鲸鱼宇航员弹钢琴")
    text = answer.inner_text()
    assert text.count("没有") == 1 and "仅供参考" not in text and "相关性较弱" not in text
    summary = answer.locator(".nearest summary")
    assert re.fullmatch(r"查看最接近的段落 \(\d\)", summary.inner_text())
    assert not answer.locator(".source").first.is_visible()
    summary.click()
    assert answer.locator(".source").first.is_visible()
    assert answer.locator("mark").count() == 0


# 3
def test_only_the_answer_is_highlighted_and_expanding_keeps_it_so(page: Any) -> None:
    answer = ask(page, "全区共完成厕所改造多少户?")
    others = answer.locator(".source:not(.holds-answer)")
    assert others.count() == 4
    assert others.locator("mark.answer, mark.sentence").count() == 0
    card = answer.locator(".source.holds-answer")
    card.get_by_role("button", name="展开段落").click()
    paragraph = card.locator(".paragraph")
    paragraph.wait_for()
    assert "".join(marked_text(paragraph, "answer")) == "14880户"
    assert filled_length(paragraph) == len("14880户")  # not the whole paragraph


# 4
def test_on_a_phone_the_answer_is_shown_once(browser: Any, live_server: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(live_server + "/")
    answer = ask(page, "全区共完成厕所改造多少户?")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # The short answer once, large, with its citation; its sentence once, in the card below.
    assert answer.inner_text().count("全区共完成厕所改造14880户") == 1
    assert answer.locator(".short-answer").is_visible()
    composer = page.locator("#ask-form").bounding_box()
    assert composer["x"] >= 0 and composer["x"] + composer["width"] <= 375
    keep_screenshot(page, tmp_path, "phone-answer.png")
    context.close()


# 5
def test_cards_cite_title_date_and_source_never_files_scores_or_markers(page: Any) -> None:
    answer = ask(page, "图书馆藏书多少册？")
    assert answer.locator(".short-answer").inner_text() == "120万册"
    card = answer.locator(".source").first
    head = card.locator(".source-head").inner_text()
    assert "《图书馆新馆开放》" in head and "2021-12-20" in head and "石家庄日报" in head
    ranks = [int(n.strip("[]")) for n in answer.locator(".source-num").all_inner_texts()]
    assert ranks == sorted(ranks)
    text = answer.inner_text()
    assert ".txt" not in text and ".md" not in text and "相关度" not in text
    answer = ask(page, "石家庄日报首席记者吴温")
    if answer.locator(".nearest summary").count():
        answer.locator(".nearest summary").click()
    shown = answer.inner_text()
    assert "首席记者 吴温" in shown and "□" not in shown
    # The file is named in the article's details.
    answer.locator(".source").first.get_by_role("button", name="打开全文").click()
    assert re.search(r"文件 \S+\.(txt|md)", page.inner_text("#article-meta"))


# 6
def test_the_article_dialog_keeps_its_head_closes_on_the_backdrop_and_keeps_focus(page: Any) -> None:
    answer = ask(page, "全区共完成厕所改造多少户?")
    answer.locator(".source.holds-answer").get_by_role("button", name="打开全文").click()
    dialog = page.locator("#article-view")
    mark = dialog.locator("mark.answer")
    mark.wait_for()
    assert mark.inner_text() == "14880户" and mark.is_visible()
    assert filled_length(dialog) == len("14880户")  # the answer, not the whole chunk
    dialog.evaluate("d => d.scrollTo(0, d.scrollHeight)")
    close = page.locator("#close-article").bounding_box()
    box = dialog.bounding_box()
    assert box["y"] <= close["y"] <= box["y"] + box["height"]  # still in view at the end
    for _ in range(6):
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('article-view').contains(document.activeElement)")
    page.mouse.click(5, 5)  # the backdrop
    assert not dialog.is_visible()


# 7
def test_the_page_notices_a_new_index_and_survives_a_server_error(browser: Any, tmp_path: Path) -> None:
    app, url, server = _serve(tmp_path / "live")
    try:
        context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.goto(url + "/")
        page.wait_for_function("() => document.getElementById('status').textContent.includes('gen-000001')")
        corpus = tmp_path / "live" / "corpus"
        (corpus / "new.txt").write_text("新文章\n\n全市新增绿地300公顷。\n", encoding="utf-8")
        build_index(Settings(corpus_dir=corpus, index_dir=tmp_path / "live" / "embeddings"),
                    app.extensions["qa"].encoder)
        page.wait_for_timeout(600)  # the server's watcher loads the new generation
        ask(page, "全区共完成厕所改造多少户?")
        page.wait_for_function("() => document.getElementById('notice').textContent.includes('新增 1 篇')")
        assert "gen-000002" in page.inner_text("#status") and "7 篇文章" in page.inner_text("#status")

        page.route("**/api/ask", lambda route: route.abort("failed"))
        page.route("**/api/health", lambda route: route.abort("failed"))
        error = ask(page, "大会由谁主持?")
        assert "无法连接服务" in error.inner_text() and "Failed to fetch" not in error.inner_text()
        page.wait_for_function("() => document.getElementById('status').classList.contains('down')")
        page.unroute("**/api/ask")
        page.unroute("**/api/health")
        error.get_by_role("button", name="重试").click()
        page.wait_for_selector(".message.error", state="detached")
        assert page.locator(".message.bot").last.locator(".short-answer").inner_text() == "马宇骏"
        page.route("**/api/ask", lambda route: route.fulfill(
            status=500, content_type="application/json",
            body='{"error": {"code": "internal_error", "message": "internal error"}}'))
        assert "服务暂时出错了" in ask(page, "厕所改造").inner_text()
        page.reload()
        page.wait_for_selector(".message.user")
        assert "厕所改造" not in page.locator(".message.user").all_inner_texts()  # errors are not kept
        assert page.locator(".message.error").count() == 0
        context.close()
    finally:
        server.shutdown()


# 8
def test_the_composer_counts_characters_and_shrinks_after_sending(browser: Any, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(live_server + "/")
    height = page.locator("#question").bounding_box()["height"]
    assert not page.locator("#counter").is_visible()
    page.fill("#question", "问" * 420)
    assert page.inner_text("#counter") == "420 / 500"
    page.fill("#question", "问" * 600)
    assert page.input_value("#question") == "问" * 500 and "已达上限" in page.inner_text("#counter")
    page.fill("#question", "厕所改造\n多少户\n全区\n共完成")
    assert page.locator("#question").bounding_box()["height"] > height
    page.press("#question", "Enter")
    page.wait_for_selector(".message.bot:not(.busy)")
    assert page.locator("#question").bounding_box()["height"] <= height + 1
    assert "Shift" in (page.get_attribute("#question", "placeholder") or "")
    context.close()
    phone = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.goto(live_server + "/")
    placeholder = page.get_attribute("#question", "placeholder") or ""
    assert placeholder and "Shift" not in placeholder
    phone.close()


# 9
def test_a_follow_up_rewrite_is_shown_to_the_user(page: Any) -> None:
    ask(page, "藁城区今年开工了多少个重点项目?")
    with page.expect_request("**/api/ask") as request:
        answer = ask(page, "总投资是多少?")
    assert request.value.post_data_json["history"][-1] == "藁城区今年开工了多少个重点项目?"
    expected = request.value.response().json()["understood_as"]
    if expected:
        assert f"按上文理解为：{expected}" in answer.inner_text()
    rewritten = "藁城区今年开工了多少个重点项目? 总投资是多少?"
    body = json.dumps({**request.value.response().json(), "understood_as": rewritten})
    page.route("**/api/ask", lambda route: route.fulfill(status=200, content_type="application/json",
                                                         body=body))
    assert f"按上文理解为：{rewritten}" in ask(page, "总投资是多少?").inner_text()


def test_an_older_article_that_says_otherwise_is_named_under_the_answer(page: Any) -> None:
    with page.expect_request("**/api/ask") as request:
        answer = ask(page, "图书馆藏书多少册？")
    assert answer.locator(".older").count() == 0  # one article answers: nothing older to name
    result = request.value.response().json()
    article = {**result["answer"]["article"], "title": "图书馆旧馆", "date": "2019-05-01"}
    older = {"text": "80万册", "article": article, "paragraph": 1, "char_start": 10, "char_end": 14}
    body = json.dumps({**result, "answer": {**result["answer"], "older": [older]}})
    page.route("**/api/ask", lambda route: route.fulfill(status=200, content_type="application/json",
                                                         body=body))
    again = ask(page, "图书馆藏书多少册？")
    # The newest article's answer stays the answer.
    assert again.locator(".short-answer").inner_text() == result["answer"]["text"]
    assert again.locator(".older").inner_text() == "较早的文章另有说法：80万册（《图书馆旧馆》 2019-05-01）"


# 10
def test_the_welcome_screen_shows_the_corpus_and_its_own_examples(page: Any) -> None:
    page.wait_for_selector(".example")
    assert page.locator(".example").all_inner_texts() == EXAMPLES  # from corpus/example_questions.json
    assert "当前收录 6 篇文章" in page.inner_text("#welcome")
    page.wait_for_selector("#newest li")
    newest = page.locator("#newest li").all_inner_texts()
    assert newest[0].startswith("《图书馆新馆开放》") and "2021-12-20" in newest[0] and len(newest) == 3
    page.locator(".example").first.click()
    page.wait_for_selector(".message.bot:not(.busy)")
    assert page.locator(".short-answer").last.inner_text() == "120万册"


# 11
def test_small_things_favicon_tab_stops_clear_confirmation_dark_mode(browser: Any,
                                                                     live_server: str) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN",
                                  color_scheme="dark")
    page = context.new_page()
    assert page.request.get(live_server + "/favicon.ico").status == 200
    page.goto(live_server + "/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert sum(int(v) for v in re.findall(r"\d+", background)[:3]) < 3 * 60  # dark
    for question in ["全区共完成厕所改造多少户?", "大会由谁主持?", "鲸鱼宇航员弹钢琴"]:
        ask(page, question)
    stops = page.evaluate("""[...document.querySelectorAll('button, textarea, summary, [tabindex]')]
        .filter(e => e.tabIndex >= 0 && !e.disabled && e.getClientRects().length).length""")
    assert stops <= 12  # two per answer, the composer, the clear button
    page.click("#clear-history")
    assert page.locator(".message").count() > 0 and "确认" in page.inner_text("#clear-history")
    page.click("#clear-history")
    assert page.locator(".message").count() == 0
    context.close()


def test_the_arrow_keys_move_between_an_answers_buttons(page: Any) -> None:
    answer = ask(page, "全区共完成厕所改造多少户?")
    answer.get_by_role("button", name="展开段落").first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.textContent") == "打开全文"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent") == "复制出处"


def test_copy_gives_the_answer_with_its_citation(browser: Any, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN",
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(live_server + "/")
    answer = ask(page, "全区共完成厕所改造多少户?")
    answer.get_by_role("button", name="复制答案").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("14880户") and "《藁城这一年》" in copied and "第32段" in copied
    assert "[" not in copied  # no character offsets
    context.close()


def test_feedback_round_trips_from_a_click_to_the_export(page: Any, served: tuple[Any, str],
                                                         tmp_path: Path) -> None:
    app = served[0]
    store = app.extensions["feedback"]
    before = store.count()
    answer = ask(page, "全区共完成厕所改造多少户?")
    answer.get_by_role("button", name="👍 答案有用 / Helpful").click()
    page.wait_for_function("() => [...document.querySelectorAll('.feedback-status')]"
                           ".some(e => e.textContent)")
    assert answer.get_by_role("button", name="👍 答案有用 / Helpful").get_attribute("aria-pressed") == "true"

    wrong = ask(page, "图书馆新馆设有什么阅览区？")  # the fake reader has no answer for it: not found
    wrong.get_by_role("button", name="👎 答案不对 / Not right").click()
    wrong.locator(".nearest summary").click()
    text = wrong.locator(".source-text", has_text="少儿阅览区").first
    text.evaluate("""(box) => {
        const node = [...box.childNodes].find(n => n.textContent.includes('少儿阅览区'));
        const at = node.textContent.indexOf('少儿阅览区');
        const range = document.createRange();
        range.setStart(node.firstChild || node, at);
        range.setEnd(node.firstChild || node, at + 5);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
    }""")
    assert "已选中：「少儿阅览区」" in wrong.locator(".picked").inner_text()
    wrong.get_by_role("button", name="提交").click()
    page.wait_for_function("() => [...document.querySelectorAll('.feedback-status')].some("
                           "e => e.textContent.includes('已记下正确答案'))")
    assert store.count() == before + 2

    out = tmp_path / "feedback.jsonl"
    run = CliRunner().invoke(main, ["feedback", "export", "--db", str(store.path), "--out", str(out)])
    assert run.exit_code == 0, run.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {"question": "全区共完成厕所改造多少户?", "answer": "14880户"}.items() <= rows[-2].items()
    assert {"question": "图书馆新馆设有什么阅览区？", "answer": "少儿阅览区"}.items() <= rows[-1].items()


def test_history_survives_a_reload_and_can_be_cleared(page: Any) -> None:
    ask(page, "全区共完成厕所改造多少户?")
    page.reload()
    page.wait_for_selector(".message.user")
    assert "全区共完成厕所改造多少户?" in page.inner_text("#messages")
    assert page.locator(".message.bot mark.answer").count() >= 1
    page.click("#clear-history")
    page.click("#clear-history")
    assert page.locator(".message").count() == 0
    page.reload()
    assert page.locator(".message").count() == 0


def test_markup_in_questions_and_articles_renders_literally(page: Any) -> None:
    ask(page, XSS_QUESTION)
    user = page.locator(".message.user .bubble").last
    assert user.inner_text() == XSS_QUESTION
    answer = ask(page, "九百九十九户厕所改造的恶意标题文章")
    if answer.locator(".nearest summary").count():
        answer.locator(".nearest summary").click()
    card = answer.locator(".source", has_text="恶意标题").first
    assert "<script>" in card.inner_text() or "<img" in card.inner_text()
    card.get_by_role("button", name="打开全文").click()
    page.wait_for_function("() => document.getElementById('article-body').textContent.includes('<img src=x')")
    assert page.locator("#messages img, #article-view img").count() == 0
    assert page.evaluate("window.__xss") is None
    assert page.alerts == []


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


def test_busy_state_while_asking(page: Any) -> None:
    page.route("**/api/ask", lambda route: (page.wait_for_timeout(300), route.continue_()))
    page.locator(".example").first.click()
    page.wait_for_selector(".message.busy")
    assert page.locator("#send").is_disabled()
    page.wait_for_selector(".message.bot:not(.busy)")
    assert page.locator("#send").is_enabled()


def test_a_refused_question_says_why(page: Any) -> None:
    page.route("**/api/ask", lambda route: route.fulfill(
        status=400, content_type="application/json",
        body='{"error": {"code": "question_too_long", "message": "600 characters; at most 500"}}'))
    answer = ask(page, "厕所改造")
    assert "无法回答这个问题" in answer.inner_text() and "at most 500" in answer.inner_text()


def test_time_words_reprints_and_file_dates_are_said_where_they_apply(page: Any, tmp_path: Path) -> None:
    answer = ask(page, "今年图书馆藏书多少册？")
    assert answer.locator(".short-answer").inner_text() == "120万册"
    # No article of this year: "今年" is read as the year of the article that answers.
    assert answer.locator(".time-range").inner_text() == (
        "检索范围：2021-01-01 至 2021-12-31（“今年”，按文章日期 2021-12-20 理解）")
    card = answer.locator(".source.holds-answer")
    assert "石家庄日报" in card.locator(".source-cite").inner_text()
    assert card.locator(".copies").inner_text() == "同文另见 1 处：河北日报 2021-12-21"
    assert answer.locator(".source-cite", has_text="河北日报").count() == 0  # never cited twice
    assert answer.locator(".copies").count() == 1 and "null" not in answer.inner_text()
    keep_screenshot(page, tmp_path, "time-and-reprints.png")
    # The seed bulletin states no date of its own: its file's time is shown as such.
    toilets = ask(page, "全区共完成厕所改造多少户?")
    assert "（文件日期）" in toilets.locator(".answer-cite").inner_text()
    assert toilets.locator(".time-range").count() == 0
    # A date the text gives (the bulletin's 10月10日 in its title's year) says so.
    chaired = ask(page, "大会由谁主持?")
    assert "2021-10-10（据正文）" in chaired.locator(".answer-cite").inner_text()


def test_a_title_in_title_marks_is_an_article_not_a_time(page: Any, tmp_path: Path) -> None:
    answer = ask(page, "《藁城这一年》里完成了多少户厕所改造？")
    assert answer.locator(".time-range").count() == 0  # 这一年 is the title's, not "this year"
    assert answer.locator(".named-articles").inner_text() == "检索文章：《藁城这一年》"
    assert answer.locator(".short-answer").inner_text() == "14880户"
    titles = answer.locator(".source-cite").all_inner_texts()
    assert titles and all("《藁城这一年》" in t for t in titles)
    keep_screenshot(page, tmp_path, "named-article.png")


@pytest.mark.parametrize("viewport", [{"width": 1100, "height": 900}, {"width": 375, "height": 740}])
def test_a_list_is_numbered_each_item_cited_and_marked_in_cards_and_dialog(page: Any, tmp_path: Path,
                                                                            viewport: dict) -> None:
    page.set_viewport_size(viewport)
    answer = ask(page, "张超超在讲话中提出了哪几个方面的要求？")
    items = answer.locator(".answer-parts li")
    assert items.count() == 6
    assert items.first.inner_text().startswith("张超超在讲话中指出,要以常抓不懈的姿态推动项目建设")
    marks = answer.locator(".answer-parts .cite-mark")
    assert marks.count() == 6 and marks.nth(1).inner_text() == "[第8段]"
    # The cards mark the items they hold, nothing else.
    marked, shown = answer.locator(".source mark.answer").all_inner_texts(), items.all_inner_texts()
    assert "张超超强调,要以紧张快干的劲头掀起建设高潮" in marked
    assert all(any(text in item for item in shown) for text in marked)
    keep_screenshot(page, tmp_path, f"list-{viewport['width']}.png")
    marks.nth(1).click()  # opens the article with every item marked
    dialog = page.locator("#article-view")
    dialog.locator("mark.answer").first.wait_for()
    assert dialog.locator("mark.answer").count() == 6
    # …scrolled to the item whose mark was clicked (its paragraph in view).
    clicked = dialog.locator("[data-paragraph='8']")
    page.wait_for_function("el => { const r = el.getBoundingClientRect(); return r.top >= 0 && "
                           "r.top < window.innerHeight; }", arg=clicked.element_handle())
    keep_screenshot(page, tmp_path, f"list-dialog-{viewport['width']}.png")


def test_yes_no_summary_and_byline_answers_say_what_they_are(page: Any, tmp_path: Path) -> None:
    yes = ask(page, "藁城区的生活垃圾资源化项目已经投产了吗？")
    assert yes.locator(".verdict").inner_text() == "是"
    assert "11月14日,随着第一车垃圾顺利进场" in yes.locator(".answer.explanation").inner_text()
    summary = ask(page, "总结一下《藁城这一年》这篇文章的主要内容。")
    assert summary.locator(".parts-heading").inner_text().startswith("《藁城这一年》的主要内容")
    assert summary.locator(".part-label").all_inner_texts()[:2] == ["导语", "小标题"]
    summary.locator(".parts-heading button").click()  # 打开全文: the summary marked in the article
    page.locator("#article-view mark.answer").first.wait_for()
    assert page.locator("#article-view mark.answer").count() == len(summary.locator(".answer-parts li").all())
    # The dialog names the byline's authors and holds the summary, folded above the text.
    assert "作者 张建功、秦思、王凯凯、苏秋菊" in page.inner_text("#article-meta")
    folded = page.locator("#article-view .article-summary li")
    assert folded.count() == summary.locator(".answer-parts li").count()
    page.click("#close-article")
    byline = ask(page, "《藁城这一年》是谁写的？")
    assert byline.locator(".short-answer").inner_text() == "张建功、秦思、王凯凯、苏秋菊"
    assert "作者署名" in byline.locator(".answer-cite").inner_text()
    keep_screenshot(page, tmp_path, "byline.png")


def test_an_answer_read_through_the_vocabulary_says_how(page: Any) -> None:
    answer = ask(page, "讲评总结大会上市委一把手是谁？")
    assert answer.locator(".short-answer").inner_text() == "张超超"
    assert answer.locator(".understood").inner_text() == "按词表理解为：讲评总结大会上市委书记是谁？"
