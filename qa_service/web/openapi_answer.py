"""OpenAPI schemas of the answer: the passages found, the reader's span, the parts of an
answer shaped like its question, and an article's stored authors and summary (used by
openapi.py)."""

from __future__ import annotations

from typing import Any

_ARTICLE = {"$ref": "#/components/schemas/ArticleRef"}
_PAGE = {"type": ["integer", "null"], "description": "1-based page (PDF, image); null for other formats"}
_SPAN = {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}
SHAPES = ["factoid", "list", "explanation", "parts", "yes_no", "summary", "about_article"]

PASSAGE: dict[str, Any] = {
    "type": "object",
    "required": ["rank", "score", "text", "article", "paragraph", "char_start", "char_end",
                 "highlight", "weak"],
    "properties": {
        "rank": {"type": "integer"}, "score": {"type": "number"}, "text": {"type": "string"},
        "article": _ARTICLE, "paragraph": {"type": "integer"},
        "page": _PAGE,
        "char_start": {"type": "integer"}, "char_end": {"type": "integer"},
        "highlight": {"oneOf": [_SPAN, {"type": "null"}],
                      "description": "Offsets of the passage's best sentence in the article text "
                      "(for the passage holding the reader's answer: the sentence around it; with "
                      "the reader, in the other passages: the sentence sharing most of the "
                      "question's words)."},
        "weak": {"type": "boolean"},
        "answer_span": {"oneOf": [_SPAN, {"type": "null"}],
                        "description": "Offsets of the reader's answer where this passage holds it."},
        "answer_parts": {"type": "array", "items": _SPAN, "description": (
            "Offsets of the answer's parts (answer.parts) that stand in this passage: the items "
            "of a list, an explanation, a summary's sentences; marked in the chat page's cards.")},
    },
}

ANSWER_PART: dict[str, Any] = {
    "type": "object", "description": "One part of an answer: verbatim article text at its offsets.",
    "required": ["text", "article", "paragraph", "char_start", "char_end", "page", "label"],
    "properties": {
        "text": {"type": "string", "description": "The article's text at `char_start`..`char_end`."},
        "article": _ARTICLE, "paragraph": {"type": "integer"},
        "char_start": {"type": "integer"}, "char_end": {"type": "integer"}, "page": _PAGE,
        "label": {"type": ["string", "null"], "description": (
            "The number the text prints before a list item (一是, （二）, 3.), the question a part "
            "answers (several parts), what a summary sentence is (导语 lead, 小标题 heading, 要点 key "
            "sentence) or 作者 for a byline's name; null where there is none.")},
    },
}

ANSWER: dict[str, Any] = {
    "type": "object",
    "required": ["text", "article", "paragraph", "char_start", "char_end", "passage_rank"],
    "properties": {
        "text": {"type": "string", "description": (
            "The answer as shown. For a factoid the reader's exact span, verbatim article text at "
            "`char_start`..`char_end` (without a reader: the best sentence). For the other shapes "
            "the parts' texts, one per line.")},
        "article": _ARTICLE, "paragraph": {"type": ["integer", "null"]},
        "page": _PAGE,
        "char_start": {"type": ["integer", "null"], "description": (
            "The reader's span (a summary or byline answer: its first part; null where it has none).")},
        "char_end": {"type": ["integer", "null"]},
        "passage_rank": {"type": ["integer", "null"], "description": (
            "The passage holding the reader's span; null for a summary or byline answer, which "
            "comes from the article's stored notes, not from a passage.")},
        "kind": {"type": "string", "enum": ["span", "sentence", "summary", "about_article"]},
        "sentence": {"type": ["object", "null"], "required": ["text", "char_start", "char_end"],
                     "description": "The sentence(s) holding the span, verbatim, with article offsets.",
                     "properties": {"text": {"type": "string"}, "char_start": {"type": "integer"},
                                    "char_end": {"type": "integer"}}},
        "has_answer": {"type": "number", "description": (
            "The reader's probability that this passage answers the question (uncalibrated).")},
        "older": {"type": "array", "description": (
            "Where articles of different dates answer, the answer is the newest article's; "
            "these are the answers of older articles that say something else, verbatim "
            "with their citations (the chat page: 较早的文章另有说法)."),
            "items": {"type": "object",
                      "required": ["text", "article", "paragraph", "char_start", "char_end"],
                      "properties": {"text": {"type": "string"}, "article": _ARTICLE,
                                     "paragraph": {"type": "integer"}, "char_start": {"type": "integer"},
                                     "char_end": {"type": "integer"}}}},
        "read_as": {"type": ["string", "null"], "description": (
            "The question as the reader read this passage, where the official vocabulary "
            "(corpus/vocabulary.tsv) put it in the passage's words (市委一把手 → 市委书记); "
            "null where it was read as asked.")},
        "shape": {"enum": SHAPES, "description": "The shape the answer takes (the question's)."},
        "parts": {"type": "array", "items": {"$ref": "#/components/schemas/AnswerPart"}, "description": (
            "The answer's parts in the order shown, each cited: the span (factoid); the clause "
            "through the end of its sentence (explanation); every item of the list the text gives, "
            "in text order (list: 一是…二是…, （一）（二）, 1. 2., paragraphs opening alike such as "
            "张超超强调 / 张超超指出; an enumeration inside one sentence is one part); each question's "
            "answer (parts); the evidence sentence (yes_no); the lead, section headings and key "
            "sentences (summary); the byline's names (about_article). Empty for a question about "
            "an article's date or source: `article` answers it.")},
        "verdict": {"type": ["string", "null"], "enum": ["yes", "no", "unstated", None], "description": (
            "yes_no: `yes` or `no` only where the evidence sentence states it; `unstated` where it "
            "does not (or states a plan: 预计, 将). Null for other shapes.")},
        "verdict_label": {"type": ["string", "null"], "description": "是 / 否 / 文中没有明确说明."},
        "count": {"type": ["integer", "null"], "description": (
            "list: how many items, where the text numbers them (一是…五是, （一）…（五）); null "
            "otherwise.")},
        "unanswered": {"type": "array", "items": {"type": "string"}, "description": (
            "parts: the questions of a several-part question that no passage answered (the chat "
            "page says 没有找到：…); empty otherwise.")},
        "about": {"type": ["string", "null"], "enum": ["authors", "date", "source", None], "description": (
            "about_article: what was asked of the article (authors from its byline; its date or "
            "source are `article`'s fields).")},
    },
}

SHAPE: dict[str, Any] = {
    "type": "object", "description": (
        "The shape of answer the question asks for, from its words: `factoid` (多少, 谁), `list` "
        "(哪些, 哪几, 包括), `explanation` (如何, 为什么, 什么措施), `parts` (several questions in "
        "one: …多少个，总投资多少; 分别), `yes_no` (是否, …吗), `summary` (总结, 主要内容) or "
        "`about_article` (作者, 谁写的, 哪天发表); `cue`: the words that decided it (null for a "
        "factoid); `parts`: the questions of a several-part one. A summary or the article itself "
        "is asked of an article the question names in 《》 or points at (这篇文章: the first "
        "passage's). The answer takes this shape (`answer.shape`, `answer.parts`)."),
    "required": ["kind", "cue", "parts"],
    "properties": {"kind": {"enum": SHAPES}, "cue": {"type": ["string", "null"]},
                   "parts": {"type": "array", "items": {"type": "string"}}},
}

_OFFSETS: dict[str, Any] = {"char_start": {"type": "integer"}, "char_end": {"type": "integer"},
                            "paragraph": {"type": "integer"}}
_REQUIRED = ["char_start", "char_end", "paragraph"]

ARTICLE_NOTES: dict[str, Any] = {
    "authors": {"type": "array", "description": (
        "Who wrote it, as its byline says (□…记者 X, 本报讯(…记者 X), a closing (张三、李四)); a "
        "photo credit (…摄) is never an author. Found at build time."),
        "items": {"type": "object", "required": ["name", *_REQUIRED],
                  "properties": {"name": {"type": "string"}, **_OFFSETS}}},
    "summary": {"type": "array", "description": (
        "Its extractive summary, chosen at build time: the lead, section headings and key "
        "sentences (lexical TextRank), in text order, each verbatim at its offsets."),
        "items": {"type": "object", "required": ["kind", "text", *_REQUIRED],
                  "properties": {"kind": {"enum": ["lead", "heading", "key"]}, "text": {"type": "string"},
                                 **_OFFSETS}}},
}
