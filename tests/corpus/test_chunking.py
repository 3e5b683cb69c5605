from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from qa_service.corpus import (
    Article,
    ChunkingSettings,
    Paragraph,
    chunk_article,
    embedding_text,
    split_sentences,
)

WORD = st.text(alphabet="藁城区项目建设投资亿元户改造abc XYZ", min_size=1, max_size=40)
NUMBER = st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False).map(str)
END = st.sampled_from(["。", "！", "？", "；", "!", "?", ";", "。”", "……", ". ", ""])
SENTENCE = st.builds(lambda a, n, b, e: f"{a}{n}{b}{e}", WORD, NUMBER, WORD, END)
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=12).map("".join).map(str.strip).filter(bool)


def make_article(paragraphs: list[str]) -> Article:
    spans, offset = [], 0
    for i, text in enumerate(paragraphs):
        spans.append(Paragraph(i, offset, offset + len(text), "body"))
        offset += len(text) + 1
    return Article(id="a1", title="标题", source="x.txt", text="\n".join(paragraphs), paragraphs=spans)


CHUNKING = st.builds(ChunkingSettings, target_chars=st.integers(40, 300),
                     max_chars=st.integers(300, 450), min_chars=st.integers(0, 120),
                     overlap_chars=st.integers(0, 100))


@settings(max_examples=200, deadline=None)
@given(st.lists(PARAGRAPH, min_size=1, max_size=8), CHUNKING)
def test_chunks_are_exact_slices_cover_every_sentence_and_respect_the_limit(
    paragraphs: list[str], chunking: ChunkingSettings
) -> None:
    article = make_article(paragraphs)
    chunks = chunk_article(article, chunking)
    assert chunks
    for chunk in chunks:
        assert chunk.text == article.text[chunk.char_start : chunk.char_end]
        assert chunk.text.strip()
        assert len(chunk.text) <= chunking.max_chars
        assert article.paragraphs[chunk.paragraph].start <= chunk.char_start
        assert chunk.char_end <= article.paragraphs[chunk.paragraph_end].end
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.char_start, chunk.char_end))
    for para in article.paragraphs:
        for start, end in split_sentences(article.text, para.start, para.end):
            assert set(range(start, end)) <= covered, article.text[start:end]


@given(st.lists(PARAGRAPH, min_size=1, max_size=4))
def test_sentence_spans_are_ordered_and_never_cut_a_number(paragraphs: list[str]) -> None:
    text = "\n".join(paragraphs)
    spans = split_sentences(text)
    assert spans == sorted(spans)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start
    for _, end in spans:
        if 0 < end < len(text):
            assert not (text[end - 1] == "." and text[end].isdigit())


def test_decimal_numbers_are_not_sentence_ends() -> None:
    text = "至此,本年度总投资204.95亿元的99个重点项目全部开工。投资1.1亿元开展改造!"
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "至此,本年度总投资204.95亿元的99个重点项目全部开工。",
        "投资1.1亿元开展改造!",
    ]


def test_closing_quotes_stay_with_their_sentence() -> None:
    text = "他说:“我们开展了爱国卫生运动。”天刚蒙蒙亮。"
    sentences = [text[a:b] for a, b in split_sentences(text)]
    assert sentences == ["他说:“我们开展了爱国卫生运动。”", "天刚蒙蒙亮。"]


def test_long_paragraph_chunks_overlap_by_a_short_sentence() -> None:
    sentences = [f"第{i}句话讲的是项目建设的进展情况。" for i in range(40)]
    article = make_article(["".join(sentences)])
    chunks = chunk_article(article, ChunkingSettings(target_chars=100, overlap_chars=30))
    assert len(chunks) > 3
    for first, second in itertools.pairwise(chunks):
        assert second.char_start < first.char_end  # the last sentence is repeated


def test_short_heading_is_packed_with_the_following_text() -> None:
    article = make_article(["以项目支撑带动产业做大做强", "12月1日,29个重点项目正式开工。" * 3])
    first = chunk_article(article)[0]
    assert first.text.startswith("以项目支撑带动产业做大做强\n12月1日")
    assert (first.paragraph, first.paragraph_end) == (0, 1)


def test_embedding_text_puts_the_title_first() -> None:
    assert embedding_text("藁城这一年", "正文。") == "藁城这一年\n正文。"
