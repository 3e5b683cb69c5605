"""The answer as JSON: the reader's span with its sentence, and the parts of an answer
shaped like its question (shaping.py), each with its own citation.

Fields are only ever added: clients written for the span-only answer keep reading
``answer.text``, ``answer.char_start`` and ``answer.sentence``.
"""

from __future__ import annotations

from ..index import ChunkStore
from .answer import Sentence
from .outcome import Outcome
from .reading import SpanAnswer
from .shaping import ShapedAnswer

VERDICT_LABELS = {"yes": "是", "no": "否", "unstated": "文中没有明确说明"}


def article_json(article_id: str, title: str, source: str, date: str | None,
                 date_source: str | None = None) -> dict:
    return {"id": article_id, "title": title, "source": source, "date": date,
            "date_source": date_source or ("none" if date is None else "front_matter")}


def passages_json(store: ChunkStore, outcome: Outcome, top_k: int, found: bool) -> list[dict]:
    """The first ``top_k`` passages with their citations and best sentences (``weak`` where
    the answer was not found); the answer's marks are added by the caller."""
    passages = []
    for rank, hit in enumerate(outcome.hits[:top_k], start=1):
        chunk = hit.chunk
        best = outcome.best[rank - 1] if rank <= len(outcome.best) else None
        passages.append({
            "rank": rank,
            "score": round(hit.dense if hit.dense is not None else hit.score, 4),
            "text": chunk.text,
            "article": {**article_json(chunk.article_id, chunk.title, chunk.source, chunk.date,
                                       chunk.date_source),
                        # Republished copies of it, not searched themselves (同文另见 N 处).
                        "copies": store.copies_of(chunk.article_id),
                        "authors": [a.name for a in store.notes_of(chunk.article_id).authors]},
            "paragraph": chunk.paragraph,
            "page": store.page_at(chunk.article_id, chunk.char_start),
            "char_start": chunk.char_start,
            "char_end": chunk.char_end,
            "highlight": [best.char_start, best.char_end] if best else None,
            "weak": not found,
            "answer_span": None,
        })
    return passages


def span_json(passages: list[dict], found: SpanAnswer | Sentence, kind: str, sentence: str,
              sentence_start: int, sentence_end: int, page: int | None) -> dict:
    """The reader's span (or without a reader the best sentence) with its sentence."""
    return {
        "text": found.text,
        "article": passages[found.passage_rank - 1]["article"],
        "paragraph": found.paragraph,
        "page": page,
        "char_start": found.char_start,
        "char_end": found.char_end,
        "passage_rank": found.passage_rank,
        "kind": kind,
        "sentence": {"text": sentence, "char_start": sentence_start, "char_end": sentence_end},
    }


def article_of(store: ChunkStore, article_id: str) -> dict | None:
    """The article JSON (as in passages) of an article that may be in no passage shown."""
    article = store.get_article(article_id)
    if article is None:
        return None
    return {**article_json(article.id, article.title, article.source, article.date, article.date_source),
            "copies": store.copies_of(article.id),
            "authors": [a.name for a in store.notes_of(article.id).authors]}


def add_shape(answer: dict | None, shaped: ShapedAnswer | None, store: ChunkStore,
              passages: list[dict]) -> dict | None:
    """``answer`` with its shape's fields: ``shape``, ``parts`` (each cited), ``verdict``
    and ``count`` where they apply, and ``text`` the whole answer as shown (the span for
    a factoid). A summary or an article's byline has no span: its answer is made here.
    Each passage shown gets ``answer_parts``, the parts' offsets that stand in it."""
    if shaped is None:
        return answer
    articles = {p["article"]["id"]: p["article"] for p in passages}

    def article(article_id: str) -> dict | None:
        if article_id not in articles:
            found = article_of(store, article_id)
            if found is not None:
                articles[article_id] = found
        return articles.get(article_id)

    parts = [{"text": part.text, "article": article(part.article_id), "paragraph": part.paragraph,
              "char_start": part.char_start, "char_end": part.char_end,
              "page": store.page_at(part.article_id, part.char_start), "label": part.label}
             for part in shaped.parts]
    if answer is None:
        asked = article(shaped.article_id) if shaped.article_id else None
        first = shaped.parts[0] if shaped.parts else None
        answer = {"text": shaped.text, "article": asked,
                  "paragraph": first.paragraph if first else None,
                  "page": parts[0]["page"] if parts else None,
                  "char_start": first.char_start if first else None,
                  "char_end": first.char_end if first else None,
                  "passage_rank": None, "kind": shaped.kind, "sentence": None}
    if shaped.kind != "factoid":
        answer["text"] = shaped.text
    elif shaped.parts and answer.get("char_end") != shaped.parts[0].char_end:
        # The span cut to its first amount (2.5万户 of 2.5万户、精品庭院6473户): shown as cut.
        answer.update(text=shaped.parts[0].text, char_end=shaped.parts[0].char_end)
        for passage in passages:
            if passage.get("answer_span") and passage["answer_span"][0] == answer["char_start"]:
                passage["answer_span"] = [answer["char_start"], answer["char_end"]]
    answer.update(shape=shaped.kind, parts=parts, verdict=shaped.verdict,
                  verdict_label=VERDICT_LABELS.get(shaped.verdict or ""), count=shaped.count,
                  about=shaped.about, unanswered=shaped.unanswered)
    for passage in passages:
        inside = [[p.char_start, p.char_end] for p in shaped.parts
                  if p.article_id == passage["article"]["id"]
                  and passage["char_start"] <= p.char_start < passage["char_end"]]
        passage["answer_parts"] = inside
    return answer
