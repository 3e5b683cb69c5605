"""Feedback on answers: public ``POST /api/feedback`` (rate- and size-limited), admin-only
``GET /api/feedback``. Rows go to the FeedbackStore in ``app.extensions["feedback"]``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from ..corpus import is_blank
from ..feedback import RATINGS, Feedback, FeedbackStore, Selection
from .api import ARTICLE_ID, MAX_HISTORY, MAX_QUESTION_CHARS, ApiError, json_body, require_admin, state

bp = Blueprint("feedback", __name__, url_prefix="/api")

MAX_ANSWER_CHARS = 2000  # a long list answer fits; a pasted article does not
MAX_SELECTION_CHARS = 1000
MAX_GENERATION_CHARS = 64


def store() -> FeedbackStore:
    feedback_store: FeedbackStore = current_app.extensions["feedback"]
    return feedback_store


def _text(body: dict, name: str, limit: int, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and is_blank(value)):
        kind = "a non-empty string" if required else "a string"
        raise ApiError(400, "invalid_feedback", f"'{name}' must be {kind}")
    if len(value) > limit:
        raise ApiError(400, "invalid_feedback", f"'{name}' has {len(value)} characters; at most {limit}")
    return value


def _selection(raw: Any) -> Selection | None:
    """The user's "the answer is here", checked against the served article: what is stored
    is always a verbatim slice of it."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ApiError(400, "invalid_feedback", "'selection' must be an object with article_id, "
                       "char_start, char_end and text")
    article_id, start, end = raw.get("article_id"), raw.get("char_start"), raw.get("char_end")
    text = _text(raw, "text", MAX_SELECTION_CHARS, required=True)
    if not isinstance(article_id, str) or not ARTICLE_ID.match(article_id):
        raise ApiError(400, "invalid_feedback", "'selection.article_id' must be an article id")
    if (isinstance(start, bool) or isinstance(end, bool) or not isinstance(start, int)
            or not isinstance(end, int) or start < 0):
        raise ApiError(400, "invalid_feedback", "'selection' needs integer offsets char_start and char_end")
    retriever = state().current()
    article = retriever.index.store.get_article(article_id) if retriever else None
    if article is None:
        raise ApiError(404, "not_found", f"no article with id {article_id} in the served index")
    # 409: the page selected text in an article that has since changed (or offsets that
    # never held it); nothing is stored that is not verbatim in the article.
    if start >= end or article.text[start:end].strip() != (text or "").strip():
        raise ApiError(409, "selection_mismatch",
                       "'selection.text' is not the article's text at those offsets")
    return Selection(article_id, int(start), int(end), article.text[start:end])


def parse_feedback(body: Any) -> Feedback:
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object such as "
                       '{"rating": "up", "question": "…", "found": true, "answer": "14880户"}')
    rating = body.get("rating")
    if rating not in RATINGS:
        raise ApiError(400, "invalid_feedback", f"'rating' must be one of {list(RATINGS)}")
    question = _text(body, "question", MAX_QUESTION_CHARS, required=True)
    found = body.get("found")
    if not isinstance(found, bool):
        raise ApiError(400, "invalid_feedback", "'found' must be true or false (what the answer said)")
    history = body.get("history", [])
    if (not isinstance(history, list) or len(history) > MAX_HISTORY
            or not all(isinstance(h, str) and len(h) <= MAX_QUESTION_CHARS for h in history)):
        raise ApiError(400, "invalid_feedback", f"'history' must be at most {MAX_HISTORY} questions")
    return Feedback(rating=rating, question=question or "", found=found,
                    answer=_text(body, "answer", MAX_ANSWER_CHARS),
                    generation=_text(body, "generation", MAX_GENERATION_CHARS), history=history,
                    selection=_selection(body.get("selection")))


@bp.post("/feedback")
def post_feedback() -> Any:
    """Rate-limited per client address in the app factory (QA_FEEDBACK_RATE_LIMIT)."""
    feedback = parse_feedback(json_body())
    return jsonify({"id": store().add(feedback)}), 201


@bp.get("/feedback")
@require_admin
def list_feedback() -> Any:
    page = request.args.get("page", "1")
    if not (page.isascii() and page.isdigit() and len(page) <= 7 and int(page) >= 1):
        raise ApiError(400, "invalid_request", "page must be a positive integer")
    per_page = 50
    rows = store().newest((int(page) - 1) * per_page, per_page)
    return jsonify({"feedback": [f.as_json() for f in rows], "page": int(page), "per_page": per_page,
                    "total": store().count()})
