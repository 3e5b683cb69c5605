"""The official-vocabulary table: parsing, widening the search, the reader's wording."""

from __future__ import annotations

from pathlib import Path

from qa_service.corpus import VOCABULARY_FILE, read_vocabulary, vocabulary_of
from qa_service.corpus.vocabulary import parse_vocabulary

SEED_TABLE = Path(__file__).resolve().parents[2] / "corpus" / VOCABULARY_FILE


def test_the_shipped_table_parses_without_problems_and_knows_the_starter_terms() -> None:
    stored, problem = read_vocabulary(SEED_TABLE.parent)
    assert problem is None
    vocabulary = vocabulary_of(stored)
    assert "市委书记" in vocabulary.expansions("市委一把手是谁？")
    assert "发展和改革委员会" in vocabulary.expansions("发改委主任是谁？")
    assert "人民代表大会" in vocabulary.expansions("人大代表有多少名？")
    assert "政治协商会议" in vocabulary.expansions("政协委员有多少名？")


def test_the_reader_reads_the_question_in_the_passage_s_words() -> None:
    vocabulary, _ = parse_vocabulary("市委一把手 → 市委书记 / 市委主要负责人\n发改委\t发展和改革委员会\n")
    assert vocabulary.question_for("市委一把手是谁？", "市委书记张超超出席并讲话") == "市委书记是谁？"
    # A passage that uses the question's own term, or none of the group, leaves it alone.
    assert vocabulary.question_for("市委一把手是谁？", "市委一把手张超超") == "市委一把手是谁？"
    assert vocabulary.question_for("市委一把手是谁？", "天气晴朗") == "市委一把手是谁？"
    assert vocabulary.question_for("发展和改革委员会主任是谁？", "市发改委主任王五") == "发改委主任是谁？"


def test_a_one_way_line_widens_only_from_its_first_term() -> None:
    vocabulary, _ = parse_vocabulary("一把手 → 书记 / 主要负责人\n")
    assert vocabulary.expansions("区委一把手是谁") == ["书记", "主要负责人"]
    assert vocabulary.expansions("书记是谁") == []


def test_wildcards_match_a_name_inside_the_long_form() -> None:
    vocabulary, _ = parse_vocabulary("纪委 = 中共*纪律检查委员会\n")
    assert (vocabulary.question_for("纪委通报了什么？", "中共石家庄市纪律检查委员会通报")
            == "中共石家庄市纪律检查委员会通报了什么？")
    assert vocabulary.expansions("纪委通报了什么") == ["中共 纪律检查委员会"]


def test_bad_lines_are_reported_by_number_and_the_rest_is_kept(tmp_path: Path) -> None:
    (tmp_path / VOCABULARY_FILE).write_text("# comment\n人大 = 人民代表大会\n孤单\n政协 = 政治协商会议\n",
                                            encoding="utf-8")
    stored, problem = read_vocabulary(tmp_path)
    assert stored["groups"] == [["人大", "人民代表大会"], ["政协", "政治协商会议"]]
    assert problem is not None and "line 3" in problem
    (tmp_path / VOCABULARY_FILE).write_bytes(b"\xff\xfe\x00bad")
    stored, problem = read_vocabulary(tmp_path)
    assert stored["groups"] == [] and problem is not None and "UTF-8" in problem
    assert read_vocabulary(tmp_path / "missing") == ({"groups": [], "one_way": []}, None)
