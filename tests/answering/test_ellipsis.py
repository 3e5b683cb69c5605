"""Follow-ups that leave something out (X呢？, 它…), restated from the question before them."""

from __future__ import annotations

import pytest

from qa_service.answering.ellipsis import Restatement, names, restatements, subject_of


@pytest.mark.parametrize(("question", "previous", "first"), [
    # "X呢?" about a counted thing: X takes the thing's place.
    ("志愿服务队呢？", "藁城区建成了多少个新时代文明实践站？", "藁城区建成了多少个志愿服务队？"),
    ("那美丽庭院呢?", "藁城区完成了多少户厕所改造？", "藁城区完成了多少户美丽庭院？"),
    # ...or about another subject.
    ("新华区呢？", "藁城区的总投资是多少？", "新华区的总投资是多少？"),
    ("马宇骏呢？", "张超超在讲评总结大会上讲话了吗？", "马宇骏在讲评总结大会上讲话了吗？"),
    # A pronoun stands for the previous question's subject; 其 for its owner.
    ("它集中了哪些处理中心？", "藁城区生活垃圾资源化项目什么时候投产？",
     "藁城区生活垃圾资源化项目集中了哪些处理中心？"),
    ("其总投资是多少？", "凯诺中星科技有限公司的项目在哪个园区？", "凯诺中星科技有限公司的总投资是多少？"),
    ("该项目总投资多少？", "中国联通5G智慧大厦项目在哪个区？", "中国联通5G智慧大厦项目总投资多少？"),
])
def test_an_elliptical_follow_up_is_restated_in_full(question: str, previous: str, first: str) -> None:
    restated = restatements(question, previous)
    assert restated and restated[0].text == first


def test_x_ne_offers_both_readings_and_names_its_topic() -> None:
    # Which part X replaces cannot be told from the words: both, the counted thing first.
    restated = restatements("新华区呢？", "藁城区完成了多少户厕所改造？")
    assert [r.text for r in restated] == ["藁城区完成了多少户新华区？", "新华区多少户厕所改造？"]
    assert all(r.topic == "新华区" for r in restated)
    # A pronoun adds nothing new: its answer's passage need not name anything.
    assert restatements("它在哪个区？", "中国联通5G智慧大厦项目什么时候开工？") == [
        Restatement("中国联通5G智慧大厦项目在哪个区？")]


@pytest.mark.parametrize("question", [
    "总投资是多少？",  # leaves out the subject, but in no shape that says which
    "应该怎么办？",  # 该 of 应该 is not a pointer
    "因此有什么变化？",
    "其他区县呢有什么不同？",  # 呢 inside, not "X呢?"
    "这些项目总投资多少？",  # plural pointers mean the things counted, not the subject
    "其它区县完成了多少户？",  # 它 of 其它 (other) points at nothing
    "石家庄的市委书记是谁？",
    "那呢？",  # no topic to ask about
    "总结一下《藁城这一年》这篇文章的主要内容。",  # 这一 of a title points at nothing
])
def test_questions_that_stand_alone_are_not_restated(question: str) -> None:
    assert restatements(question, "藁城区今年开工了多少个重点项目？") == []


def test_the_subject_is_what_precedes_the_predicate() -> None:
    assert subject_of("中国联通5G智慧大厦项目在哪个区？") == "中国联通5G智慧大厦项目"
    assert subject_of("藁城区今年开工了多少个重点项目？") == "藁城区"
    assert subject_of("谁主持了大会？") is None  # nothing before the question word


def test_a_passage_names_a_topic_by_most_of_its_character_pairs() -> None:
    assert names("截至目前,石家庄全市共完成", "石家庄市")
    assert names("注册志愿服务队1141支", "志愿服务队")
    assert not names("全区共完成厕所改造14880户", "北京冬奥会")
    assert not names("上级部门和海关", "上海")  # its characters apart are not the name
    assert names("中国联通5G智慧大厦项目开工", "5G大厦")
