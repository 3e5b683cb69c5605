from __future__ import annotations

from pathlib import Path

from qa_service.corpus import decode_bytes, parse_document, read_corpus, repair_fragments

ARTICLE = (
    "示例标题\n\n本报讯(记者 张三)\n\n今年以来,全区深入开展城乡\n\n"
    "人居环境整治提升。全年完成改造100户。\n"
)


def test_bulletins_split_into_titled_articles(corpus_dir: Path) -> None:
    result = read_corpus(corpus_dir)
    assert result.skipped == []
    assert sorted(result.files) == ["000_84a38a59f6898cf4.txt", "004_9a059b5030db942b.txt"]
    titles = [a.title for a in result.articles]
    assert titles == [
        "藁城这一年",
        "石市举行 2021 年第四季度项目观摩活动并召开讲评总结大会",
        "聚力项目建设 蓄积发展后劲",
    ]


def test_section_headings_stay_inside_their_article(corpus_dir: Path) -> None:
    article = read_corpus(corpus_dir).articles[0]
    headings = [article.text[p.start : p.end] for p in article.paragraphs if p.kind == "heading"]
    assert "以项目支撑带动产业做大做强" in headings
    assert "以作风转变持续优化营商环境" in headings


def test_paragraph_broken_mid_sentence_is_rejoined(corpus_dir: Path) -> None:
    article = read_corpus(corpus_dir).articles[0]
    paragraphs = [article.text[p.start : p.end] for p in article.paragraphs]
    assert any("深入开展城乡人居环境整治提升" in p for p in paragraphs)
    assert any("店小二”意识深入灵魂" in p for p in paragraphs)


def test_captions_are_kept_with_their_credit(corpus_dir: Path) -> None:
    article = read_corpus(corpus_dir).articles[0]
    captions = [article.text[p.start : p.end] for p in article.paragraphs if p.kind == "caption"]
    assert "藁城区岗上村新时代文明实践站。 白丽摄" in captions
    assert "藁城区人民广场鸟瞰图。 李立松摄" in captions
    assert "藁城区体育公园。 霍泰华摄" in captions


def test_no_text_is_dropped(corpus_dir: Path) -> None:
    """Every non-blank character of the source files ends up in some article."""
    result = read_corpus(corpus_dir)
    kept = "".join(a.text for a in result.articles)
    for path in corpus_dir.glob("*.txt"):  # not example_questions.json, which is no article
        source = path.read_text(encoding="utf-8")
        assert sorted(c for c in source if not c.isspace()) == sorted(
            c for c in "".join(a.text for a in result.articles if a.source == path.name)
            if not c.isspace()
        )
    assert "14880户" in kept


def test_paragraph_offsets_address_the_article_text() -> None:
    [article] = parse_document(ARTICLE, "a.txt")
    assert article.title == "示例标题"
    texts = [article.text[p.start : p.end] for p in article.paragraphs]
    assert texts == [
        "示例标题",
        "本报讯(记者 张三)",
        "今年以来,全区深入开展城乡人居环境整治提升。全年完成改造100户。",
    ]
    assert [p.kind for p in article.paragraphs] == ["heading", "byline", "body"]


def test_article_ids_are_stable_and_distinct(corpus_dir: Path) -> None:
    first = [a.id for a in read_corpus(corpus_dir).articles]
    second = [a.id for a in read_corpus(corpus_dir).articles]
    assert first == second
    assert len(set(first)) == len(first)


def test_front_matter_overrides_inferred_metadata() -> None:
    text = (
        "---\ntitle: 正式标题\ndate: 2021-10-10\nsource: 石家庄日报\n---\n"
        "随便的第一行\n\n正文内容在这里。\n"
    )
    [article] = parse_document(text, "x.md")
    assert (article.title, article.date, article.source) == ("正式标题", "2021-10-10", "石家庄日报")
    assert "title:" not in article.text


def test_latin_words_broken_across_lines_get_a_space() -> None:
    assert repair_fragments(["The project was built in", "2021 by the city, and it works."]) == [
        "The project was built in 2021 by the city, and it works."
    ]


def test_encodings_are_detected(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "gbk.txt").write_bytes(ARTICLE.encode("gbk"))
    (corpus / "bom.txt").write_bytes(b"\xef\xbb\xbf" + ARTICLE.encode("utf-8"))
    rare = "生僻字测试\n\n这里有一个罕见的字𠀀和䶮,共计两个。\n"
    (corpus / "gb18030.txt").write_bytes(rare.encode("gb18030"))
    (corpus / "crlf.md").write_bytes(ARTICLE.replace("\n", "\r\n").encode("utf-8"))
    result = read_corpus(corpus)
    assert result.skipped == []
    texts = {a.source: a.text for a in result.articles}
    assert "全年完成改造100户" in texts["gbk.txt"]
    assert texts["bom.txt"].startswith("示例标题")
    assert "𠀀和䶮" in texts["gb18030.txt"]
    assert "\r" not in texts["crlf.md"]


def test_bad_files_are_reported_and_the_rest_indexed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(ARTICLE, encoding="utf-8")
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "blank.txt").write_text(" \n\n \n", encoding="utf-8")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (corpus / "notes.pdf").write_bytes(b"%PDF")  # a PDF cut off after its first bytes
    (corpus / "notes.xyz").write_bytes(b"%PDF")  # not a corpus file type at all
    outside = tmp_path / "secret.txt"
    outside.write_text("外部文件。", encoding="utf-8")
    (corpus / "link.txt").symlink_to(outside)
    result = read_corpus(corpus)
    reasons = {s.source: s.reason for s in result.skipped}
    assert set(reasons) == {"empty.txt", "blank.txt", "binary.txt", "link.txt", "notes.pdf"}
    assert "PDF" in reasons["notes.pdf"]
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "outside" in reasons["link.txt"]
    assert [a.source for a in result.articles] == ["good.txt"]


def test_decode_rejects_empty_input() -> None:
    import pytest

    from qa_service.corpus import UndecodableFile

    with pytest.raises(UndecodableFile):
        decode_bytes(b"   \n")


def test_hidden_files_are_skipped_but_a_corpus_under_a_dot_folder_is_read(tmp_path: Path) -> None:
    corpus = tmp_path / ".cache" / "corpus"
    (corpus / ".git").mkdir(parents=True)
    (corpus / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (corpus / ".draft.txt").write_text(ARTICLE, encoding="utf-8")
    (corpus / ".git" / "b.txt").write_text(ARTICLE, encoding="utf-8")
    assert list(read_corpus(corpus).files) == ["a.txt"]
