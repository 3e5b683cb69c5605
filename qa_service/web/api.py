"""The JSON API under /api. Every answer, errors included, is JSON with a clear message."""

from __future__ import annotations

import calendar
import functools
import hmac
import json
import logging
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from ..answering import Filters, QuestionError
from ..config import Settings
from ..corpus import forget_edit, is_blank, record_edit
from ..index import BuildLockedError
from . import jobs, uploads
from .openapi import openapi_spec
from .service import ServiceState

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")

MAX_QUESTION_CHARS = 500
MAX_HISTORY = 10
TOP_K_RANGE = (1, 20)
ARTICLE_ID = re.compile(r"^[0-9a-f]{16}$")
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000  # beyond any corpus; larger numbers would overflow SQLite's integers


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> Any:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def state() -> ServiceState:
    qa_state: ServiceState = current_app.extensions["qa"]
    return qa_state


def json_body() -> Any:
    """The request body as JSON, or None if it is not JSON at all.

    Parsed here rather than with request.get_json: the body is already bounded by the
    size limit, and json.loads raises RecursionError (not ValueError) for deep nesting.
    """
    data = request.get_data(cache=True)
    if not data:
        return None
    if nesting_depth(data) > MAX_JSON_DEPTH:
        # Refused before parsing: CPython 3.11's json scanner, stopped by RecursionError,
        # can leave the thread's recursion count wrong, and a later ast.parse (werkzeug
        # compiling a route) then fails with "AST constructor recursion depth mismatch".
        raise ApiError(400, "invalid_json", "the JSON body is nested too deeply")
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise ApiError(400, "invalid_json", "the JSON body is nested too deeply") from exc
    except ValueError:  # includes UnicodeDecodeError for bytes that are not UTF-8
        return None


MAX_JSON_DEPTH = 64  # our bodies nest three deep
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def nesting_depth(data: bytes) -> int:
    """The deepest nesting of [ and { outside strings (brackets inside strings don't count)."""
    brackets = _JSON_STRING.sub(b"", data).translate(None, delete=bytes(set(range(256)) - set(b"[]{}")))
    depth = deepest = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _int_field(body: dict, name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    # JSON has one number type: 5.0 is the integer 5 (as JSON Schema says), 5.5 and "5" are
    # not integers, and true is not a number even though Python's bool is an int.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "invalid_request", f"'{name}' must be an integer from {low} to {high}")
    if not low <= value <= high:
        raise ApiError(400, "invalid_request", f"'{name}' must be from {low} to {high}, got {value}")
    return value


def parse_ask(body: Any) -> tuple[str, int, list[str]]:
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object such as "
                       '{"question": "藁城区完成了多少户厕所改造？"}')
    question = body.get("question")
    if not isinstance(question, str):
        raise ApiError(400, "invalid_request", "'question' is required and must be a string")
    if is_blank(question):
        raise ApiError(400, "empty_question", "the question is empty / 问题不能为空")
    if len(question) > MAX_QUESTION_CHARS:
        raise ApiError(400, "question_too_long",
                       f"the question has {len(question)} characters; at most {MAX_QUESTION_CHARS}")
    top_k = _int_field(body, "top_k", 5, *TOP_K_RANGE)
    history = body.get("history", [])
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise ApiError(400, "invalid_request", "'history' must be a list of strings")
    if len(history) > MAX_HISTORY:
        raise ApiError(400, "invalid_request", f"'history' has at most {MAX_HISTORY} questions")
    if any(len(h) > MAX_QUESTION_CHARS for h in history):
        raise ApiError(400, "invalid_request",
                       f"each history question has at most {MAX_QUESTION_CHARS} characters")
    return question, top_k, history


def _ready() -> Any:
    retriever = state().current()
    if retriever is None:
        raise ApiError(503, "not_ready", f"the index is not ready: {state().error}")
    return retriever


def _day_bound(name: str, value: object, last: bool) -> date:
    """2021-10-01, or 2021-10 / 2021 as their first (or, for ``date_to``, last) day."""
    text = value if isinstance(value, str) else ""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
            year, month = int(m[1]), int(m[2])
            return date(year, month, calendar.monthrange(year, month)[1] if last else 1)
        if re.fullmatch(r"\d{4}", text):
            return date(int(text), 12, 31) if last else date(int(text), 1, 1)
    except ValueError:
        pass
    raise ApiError(400, "invalid_request", f"'{name}' must be a date such as 2021-10-01, 2021-10 or 2021")


def parse_filters(body: dict) -> Filters:
    """``date_from``/``date_to`` and ``source`` (part of a publication's name or a file's path)."""
    start = None if body.get("date_from") is None else _day_bound("date_from", body["date_from"], False)
    end = None if body.get("date_to") is None else _day_bound("date_to", body["date_to"], True)
    source = body.get("source")
    if source is not None and (not isinstance(source, str) or not 1 <= len(source.strip()) <= 200):
        raise ApiError(400, "invalid_request", "'source' must be a string of 1 to 200 characters")
    return Filters(start, end, source.strip() if source else None)


@bp.post("/ask")
def ask() -> Any:
    body = json_body()
    question, top_k, history = parse_ask(body)
    filters = parse_filters(body)
    retriever = _ready()
    g.question = question
    timings: dict[str, float] = {}
    try:
        result = retriever.ask(question, top_k=top_k, history=history, filters=filters, timings=timings)
    except QuestionError as exc:
        raise ApiError(400, "empty_question", f"{exc} / 问题中没有可以查找的文字") from exc
    g.found = result["found"]
    metrics = current_app.extensions["metrics"]
    metrics.observe_ask(result["found"], timings)
    metrics.observe_index(retriever.index.generation, retriever.index.manifest)
    return jsonify(result)


@bp.get("/articles")
def list_articles() -> Any:
    page = request.args.get("page", "1")
    per_page = request.args.get("per_page", "20")
    valid = (page.isascii() and page.isdigit() and per_page.isascii() and per_page.isdigit()
             and len(page) <= 7 and len(per_page) <= 3)
    if not valid or not 1 <= int(page) <= MAX_PAGE or not 1 <= int(per_page) <= MAX_PER_PAGE:
        raise ApiError(400, "invalid_request",
                       f"page must be from 1 to {MAX_PAGE} and per_page from 1 to {MAX_PER_PAGE}")
    sort = request.args.get("sort", "source")
    if sort not in ("source", "newest"):
        raise ApiError(400, "invalid_request", "sort must be 'source' or 'newest'")
    query = request.args.get("q", "").strip()
    if len(query) > 100:
        raise ApiError(400, "invalid_request", "q (a part of the title) has at most 100 characters")
    store = _ready().index.store
    p, n = int(page), int(per_page)
    articles = store.list_articles((p - 1) * n, n, newest_first=sort == "newest",
                                   title_contains=query or None)
    total = store.count_matching(query) if query else store.count_articles()
    return jsonify({"articles": articles, "page": p, "per_page": n, "total": total})


@bp.get("/articles/<article_id>")
def get_article(article_id: str) -> Any:
    article = _served_article(article_id)
    notes = _ready().index.store.notes_of(article.id)
    text = article.text
    return jsonify({
        "id": article.id, "title": article.title, "source": article.source, "date": article.date,
        "date_source": article.date_source, "url": article.url, "file": article.file or None,
        "text": article.text,
        "paragraphs": [{"index": p.index, "start": p.start, "end": p.end, "kind": p.kind, "page": p.page}
                       for p in article.paragraphs],
        # Chosen at build time (corpus/notes.py): the byline's names, the extractive summary.
        "authors": [{"name": a.name, "char_start": a.char_start, "char_end": a.char_end,
                     "paragraph": a.paragraph} for a in notes.authors],
        "summary": [{"kind": p.kind, "text": text[p.char_start : p.char_end], "char_start": p.char_start,
                     "char_end": p.char_end, "paragraph": p.paragraph} for p in notes.summary],
    })


def require_admin(view: Callable[..., Any]) -> Callable[..., Any]:
    """Bearer token from QA_ADMIN_TOKEN, compared in constant time; off when unset."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = current_app.config.get("ADMIN_TOKEN")
        if token in (None, ""):
            raise ApiError(403, "admin_disabled", "admin endpoints are off: set QA_ADMIN_TOKEN in the "
                           "server's environment and send 'Authorization: Bearer <token>'")
        header = request.headers.get("Authorization", "")
        given = header[7:].strip() if header.startswith("Bearer ") else ""
        if not hmac.compare_digest(given.encode(), str(token).encode()):
            response = error_response(401, "unauthorized", "missing or wrong admin token")
            response.headers["WWW-Authenticate"] = 'Bearer realm="qa-service"'
            return response
        return view(*args, **kwargs)

    return wrapper


def build_settings() -> Settings:
    config = current_app.config
    # The service's own reader setting: a service answering without the reader gets the
    # sentence vectors it needs from its rebuilds (Settings.sentence_vectors).
    return Settings.from_env(corpus_dir=Path(config["CORPUS_DIR"]), index_dir=Path(config["INDEX_DIR"]),
                             model=str(config["MODEL"]), model_cache=Path(config["MODEL_CACHE"]),
                             precision=str(config["PRECISION"]), torch_threads=int(config["TORCH_THREADS"]),
                             reader_weights=str(config["READER_WEIGHTS"]))


def _start_rebuild() -> dict:
    try:
        return jobs.start_rebuild(state(), build_settings())
    except BuildLockedError as exc:
        raise ApiError(409, "build_running", str(exc)) from exc


@bp.post("/index/rebuild")
@require_admin
def rebuild() -> Any:
    return jsonify(_start_rebuild()), 202


@bp.get("/index/status")
@require_admin
def rebuild_status() -> Any:
    status = jobs.read_status(Path(current_app.config["INDEX_DIR"]))
    retriever = state().current()
    if retriever is not None:
        # The served generation's own report, whoever built it (the CLI or this page).
        manifest = retriever.index.manifest
        status["served"] = {"generation": retriever.index.generation, "built_at": manifest.get("built_at"),
                            "counts": manifest.get("counts", {}),
                            "skipped_files": manifest.get("skipped_files", []),
                            "ocr_files": manifest.get("ocr_files", [])}
    return jsonify(status)


def _rebuild_flag() -> bool:
    rebuild_now = request.args.get("rebuild", "0")
    if rebuild_now not in ("0", "1"):
        raise ApiError(400, "invalid_request", "'rebuild' must be 0 or 1")
    return rebuild_now == "1"


@bp.post("/articles")
@require_admin
def add_article() -> Any:
    """A JSON article, or files uploaded as multipart/form-data (field ``file``, repeatable)."""
    rebuild_now = _rebuild_flag()
    corpus_dir = Path(current_app.config["CORPUS_DIR"])
    try:
        if request.mimetype == "multipart/form-data":
            uploads_given = request.files.getlist("file")
            if not uploads_given:
                raise uploads.UploadError("no file in the form: send it in the field 'file'")
            paths = [uploads.save_upload(corpus_dir, f.filename or "", f.read()) for f in uploads_given]
        else:
            paths = [uploads.save_article(corpus_dir, json_body())]
    except uploads.UploadError as exc:
        raise ApiError(400, "invalid_article", str(exc)) from exc
    job = _start_rebuild() if rebuild_now else None
    return jsonify({"file": paths[0].name, "files": [p.name for p in paths], "rebuild": job}), 201


def _served_article(article_id: str) -> Any:
    if not ARTICLE_ID.match(article_id):
        raise ApiError(404, "not_found", "no such article (ids are 16 hexadecimal characters)")
    article = _ready().index.store.get_article(article_id)
    if article is None:
        raise ApiError(404, "not_found", f"no article with id {article_id}")
    return article


@bp.delete("/articles/<article_id>")
@require_admin
def delete_article(article_id: str) -> Any:
    """A file that holds only this article is deleted; from a file with several (or a
    store too old to know its file) the article is left out by an edit instead."""
    rebuild_now = _rebuild_flag()
    article = _served_article(article_id)
    corpus_dir = Path(current_app.config["CORPUS_DIR"])
    store = _ready().index.store
    siblings = store.count_articles_in_file(article.file) if article.file else 0
    path = (corpus_dir / article.file).resolve() if article.file else None
    removed = None
    if path is not None and siblings == 1 and path.is_relative_to(corpus_dir.resolve()) and path.is_file():
        path.unlink()
        forget_edit(corpus_dir, article_id)
        removed = article.file
    else:
        record_edit(corpus_dir, article_id, None)
    job = _start_rebuild() if rebuild_now else None
    return jsonify({"id": article_id, "removed_file": removed, "excluded": removed is None, "rebuild": job})


@bp.put("/articles/<article_id>")
@require_admin
def edit_article(article_id: str) -> Any:
    rebuild_now = _rebuild_flag()
    _served_article(article_id)
    try:
        edit = uploads.parse_edit(json_body())
    except uploads.UploadError as exc:
        raise ApiError(400, "invalid_article", str(exc)) from exc
    saved = record_edit(Path(current_app.config["CORPUS_DIR"]), article_id, edit)
    job = _start_rebuild() if rebuild_now else None
    return jsonify({"id": article_id, "edit": saved, "rebuild": job})


@bp.get("/health")
def health() -> Any:
    body = state().health()
    return jsonify(body), 200 if body["ready"] else 503


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_spec())


@bp.errorhandler(ApiError)
def handle_api_error(exc: ApiError) -> Any:
    return error_response(exc.status, exc.code, exc.message)


def handle_http_error(exc: HTTPException) -> Any:
    """Registered app-wide: routing errors under /api never reach the blueprint."""
    if not request.path.startswith("/api"):
        return exc
    codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large", 400: "bad_request",
             429: "rate_limited"}
    code = exc.code or 500
    limit = request.max_content_length or 0
    message = exc.description or exc.name
    if code == 413:
        message = f"the request body is larger than {limit // 1024} KB"
    if code == 429:
        message = f"too many requests ({exc.description}); try again later / 请求过于频繁，请稍后再试"
    response = error_response(code, codes.get(code, "http_error"), message)
    if code == 405 and exc.get_response().headers.get("Allow"):
        response.headers["Allow"] = exc.get_response().headers["Allow"]
    return response


def handle_unexpected(exc: Exception) -> Any:
    log.exception("unhandled error on %s", request.path)
    if request.path.startswith("/api"):
        return error_response(500, "internal_error", "internal error; the server log has details")
    return "internal error", 500
