"""OpenAPI 3.1 description of /api, served at /api/openapi.json and checked by the tests."""

from __future__ import annotations

from typing import Any

from .. import __version__
from .openapi_answer import ANSWER, ANSWER_PART, ARTICLE_NOTES, PASSAGE, SHAPE

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Invalid request", 401: "Missing or wrong admin token",
            403: "Admin endpoints are off (QA_ADMIN_TOKEN unset)", 404: "Not found",
            405: "Method not allowed", 409: "A build is already running",
            413: "Body too large", 429: "Too many requests from this client (Retry-After says when)",
            503: "No index is loaded yet"}
    return {str(c): _json(_ERROR, text[c]) for c in codes}


_DATE_SOURCE = {"type": "string", "enum": ["front_matter", "metadata", "text", "file_mtime", "edit", "none"],
                "description": "Where the date came from: the file's front matter, a web page's "
                               "metadata, the article's text (a dateline or the dates it names), the "
                               "file's modification time, an edit over the API, or nowhere."}
_DATE = {"type": ["string", "null"],
         "description": "ISO date whose length is its precision: 2021-12-20, 2021-12 or 2021"}
_ARTICLE_REF = {
    "type": "object",
    "required": ["id", "title", "source", "date"],
    "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                   "source": {"type": "string"}, "date": _DATE, "date_source": _DATE_SOURCE,
                   "authors": {"type": "array", "items": {"type": "string"}, "description": (
                       "Who wrote it, as its byline says (found at build time; a photo credit is "
                       "never an author). Empty where it has no byline.")},
                   "copies": {"type": "array", "description": (
                       "Republished copies of this article (同文另见), oldest first: found at build "
                       "time by MinHash over the body text, stored but never searched themselves."),
                       "items": {"type": "object", "required": ["id", "title", "source", "date"],
                                 "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                                                "source": {"type": "string"}, "date": _DATE}}}},
}
_DAY_FILTER = {"anyOf": [{"type": "string", "format": "date"},
                         {"type": "string", "pattern": "^[1-9]\\d{3}-(0[1-9]|1[0-2])$"},
                         {"type": "string", "pattern": "^[1-9]\\d{3}$"}]}
# No control characters; single lines have no line breaks either; text has a visible character.
_LINE = "^[^\\x00-\\x1f\\x7f]*$"
_LINE_WITH_TEXT = "^[^\\x00-\\x1f\\x7f]*[^\\s\\x00-\\x1f\\x7f][^\\x00-\\x1f\\x7f]*$"
_TEXT_CHAR = "[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"  # tabs and line breaks allowed
_TEXT = f"^{_TEXT_CHAR}*[^\\s\\x00-\\x1f\\x7f]{_TEXT_CHAR}*$"
_UPLOAD_TYPES = ".txt .md .pdf .docx .html .htm .png .jpg .jpeg, 100 MB each"
_JOB = {"oneOf": [{"$ref": "#/components/schemas/BuildStatus"}, {"type": "null"}]}
_ARTICLE_ID = {"name": "article_id", "in": "path", "required": True,
               "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"}}
_REBUILD = {"name": "rebuild", "in": "query", "schema": {"type": "integer", "enum": [0, 1], "default": 0}}

SCHEMAS: dict[str, Any] = {
    "ArticleRef": _ARTICLE_REF,
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}}}},
    },
    "AskRequest": {
        "type": "object", "required": ["question"],
        "properties": {
            "question": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "\\S",
                         "description": "Must contain something other than white space."},
            "top_k": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
            "history": {"type": "array", "maxItems": 10, "default": [],
                        "items": {"type": "string", "maxLength": 500},
                        "description": "Earlier questions of the conversation, newest last."},
            "date_from": {**_DAY_FILTER, "description": (
                "Only articles dated on or after this day (2021-10 or 2021: its first day). "
                "Undated articles are left out by any date filter.")},
            "date_to": {**_DAY_FILTER, "description": "Only articles dated on or before this day "
                        "(2021-10 or 2021: its last day)."},
            "source": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S",
                       "description": "Only articles whose source or file path contains this text."},
        },
    },
    "Passage": PASSAGE,
    "Answer": ANSWER,
    "AnswerPart": ANSWER_PART,
    "AskResponse": {
        "type": "object",
        "required": ["question", "query", "found", "message", "confidence", "evidence", "answer",
                     "passages", "generation", "took_ms"],
        "properties": {
            "question": {"type": "string"},
            "query": {"type": "string", "description": "The normalised question that was searched."},
            "understood_as": {"type": ["string", "null"], "description": (
                "How a follow-up was read with the previous question of the history: restated in "
                "full (志愿服务队呢？ -> 藁城区建成了多少个志愿服务队？) or the two questions together; "
                "the chat page shows it as 按上文理解为：…. Null when the question was read alone. A "
                "question in another language than the previous one is never read as its follow-up.")},
            "found": {"type": "boolean"}, "message": {"type": ["string", "null"]},
            "confidence": {"type": "number", "description": (
                "With the reader: the calibrated probability that the answer is right. Without "
                "(QA_READER_WEIGHTS=none): the cosine of the question and the answer sentence.")},
            "evidence": {"type": ["number", "null"], "description": (
                "How far the answer stands out: its cosine minus the mean cosine of the passages "
                "ranked 6th to 30th, plus weighted terms for how clearly the hybrid ranking puts the "
                "top passage first. Without the reader, `found` compares it with the threshold "
                "calibrated for the model; null for a corpus too small for that background or outside "
                "hybrid mode, and then `confidence` decides. With the reader it is always null: "
                "`found` is its has-answer probability, for Chinese questions weighed with the "
                "answer passage's cosine, against the threshold calibrated for its weights.")},
            "answer": {"oneOf": [{"$ref": "#/components/schemas/Answer"}, {"type": "null"}]},
            "passages": {"type": "array", "items": {"$ref": "#/components/schemas/Passage"}},
            "generation": {"type": "string"}, "took_ms": {"type": "number"},
            "time_range": {"type": ["object", "null"], "description": (
                "The time the question names (今年, 上个月, 2021年第四季度, 10月10日) as days: "
                "resolved against the day asked (basis `asked`) or, when no article of that range "
                "was found and the expression is relative, against the date of the best passage's "
                "article (basis `article`, from `base`). Passages of articles dated in the range "
                "come first; `matched` says whether there were any. Null: no time named, or no "
                "article states its date."),
                "required": ["text", "start", "end", "basis", "base", "matched"],
                "properties": {"text": {"type": "string"}, "start": {"type": "string"},
                               "end": {"type": "string"}, "basis": {"enum": ["asked", "article"]},
                               "base": {"type": "string"}, "matched": {"type": "boolean"}}},
            "shape": SHAPE,
            "named_articles": {"type": ["array", "null"], "description": (
                "The articles the question names by their title in 《》 (the same title, else a "
                "title that contains the name): only they were searched. Null where it names no "
                "article the index holds, or none within the filters (the chat page: 检索文章：《…》)."),
                "items": {"type": "object", "required": ["id", "title"],
                          "properties": {"id": {"type": "string"}, "title": {"type": "string"}}}},
            "filters": {"type": ["object", "null"], "description": "The filters applied, as understood.",
                        "properties": {"date_from": {"type": ["string", "null"]},
                                       "date_to": {"type": ["string", "null"]},
                                       "source": {"type": ["string", "null"]}}},
        },
    },
    "ArticleSummary": {
        "type": "object", "required": ["id", "title", "source", "date", "paragraphs", "chunks"],
        "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                       "source": {"type": "string"}, "date": _DATE, "date_source": _DATE_SOURCE,
                       "copy_of": {"type": ["string", "null"],
                                   "description": "the article this one republishes (not searched)"},
                       "file": {"type": ["string", "null"], "description": "its corpus file"},
                       "format": {"type": ["string", "null"], "description": "pdf, docx, …"},
                       "pages": {"type": ["integer", "null"], "description": "pages, for PDFs and images"},
                       "paragraphs": {"type": "integer"}, "chunks": {"type": "integer"},
                       "authors": {"type": "array", "items": {"type": "string"},
                                   "description": "the names its byline gives"},
                       "summary": {"type": "array", "description": "its summary, chosen at build time",
                                   "items": {"type": "object", "required": ["kind", "text"],
                                             "properties": {"kind": {"enum": ["lead", "heading", "key"]},
                                                            "text": {"type": "string"}}}}},
    },
    "Article": {
        "type": "object", "required": ["id", "title", "source", "date", "url", "text", "paragraphs"],
        "properties": {
            "id": {"type": "string"}, "title": {"type": "string"}, "source": {"type": "string"},
            "date": _DATE, "date_source": _DATE_SOURCE, "url": {"type": ["string", "null"]},
            "file": {"type": ["string", "null"]}, "text": {"type": "string"},
            "paragraphs": {"type": "array", "items": {
                "type": "object", "required": ["index", "start", "end", "kind"],
                "properties": {"index": {"type": "integer"}, "start": {"type": "integer"},
                               "end": {"type": "integer"}, "kind": {"type": "string"},
                               "page": {"type": ["integer", "null"]}}}},
            **ARTICLE_NOTES,
        },
    },
    "BuildStatus": {
        "type": "object", "required": ["state", "job_id"],
        "properties": {
            "job_id": {"type": ["string", "null"]},
            "state": {"type": "string", "enum": ["idle", "running", "succeeded", "failed"]},
            "started_at": {"type": ["string", "null"]}, "finished_at": {"type": ["string", "null"]},
            "progress": {"type": "object", "additionalProperties": {
                "type": "object", "properties": {"done": {"type": "integer"}, "total": {"type": "integer"}}}},
            "summary": {"type": ["object", "null"]}, "error": {"type": ["string", "null"]},
            "seconds": {"type": ["number", "null"]},
            "served": {"type": "object", "description": "the served generation: counts, skipped files "
                       "with their reasons, files read by OCR"},
        },
    },
    "NewArticle": {
        "type": "object", "required": ["title", "text"],
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": _LINE_WITH_TEXT},
            "text": {"type": "string", "minLength": 1, "maxLength": 200000, "pattern": _TEXT},
            "date": {"type": "string", "maxLength": 200, "pattern": _LINE},
            "source": {"type": "string", "maxLength": 200, "pattern": _LINE},
        },
    },
    "Selection": {
        "type": "object", "required": ["article_id", "char_start", "char_end", "text"],
        "description": "Text the user marked as the right answer: article offsets, as in citations.",
        "properties": {
            "article_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
            "char_start": {"type": "integer", "minimum": 0}, "char_end": {"type": "integer", "minimum": 1},
            "text": {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": "\\S"},
        },
    },
    "FeedbackRequest": {
        "type": "object", "required": ["rating", "question", "found"],
        "properties": {
            "rating": {"type": "string", "enum": ["up", "down"]},
            "question": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "\\S"},
            "history": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 500}},
            "found": {"type": "boolean", "description": "Whether the answer shown was found."},
            "answer": {"type": ["string", "null"], "maxLength": 2000, "description": "The answer shown."},
            "generation": {"type": ["string", "null"], "maxLength": 64},
            "selection": {"oneOf": [{"$ref": "#/components/schemas/Selection"}, {"type": "null"}],
                          "description": "On 👎: where the right answer stands (409 if not verbatim)."},
        },
    },
    "Feedback": {
        "type": "object", "required": ["id", "rating", "question", "found", "created_at"],
        "properties": {
            "id": {"type": "integer"}, "rating": {"type": "string"}, "question": {"type": "string"},
            "found": {"type": "boolean"}, "answer": {"type": ["string", "null"]},
            "generation": {"type": ["string", "null"]}, "created_at": {"type": "number"},
            "history": {"type": "array", "items": {"type": "string"}},
            "selection": {"oneOf": [{"$ref": "#/components/schemas/Selection"}, {"type": "null"}]},
        },
    },
    "ArticleEdit": {
        "type": "object", "minProperties": 1, "additionalProperties": False,
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": _LINE_WITH_TEXT},
            "text": {"type": "string", "minLength": 1, "maxLength": 200000, "pattern": _TEXT},
            "date": {"type": "string", "maxLength": 200, "pattern": _LINE},
            "source": {"type": "string", "maxLength": 200, "pattern": _LINE},
            "url": {"type": "string", "maxLength": 200, "pattern": _LINE},
        },
    },
    "Health": {
        "type": "object", "required": ["status", "ready", "model", "uptime_s"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "not_ready"]}, "ready": {"type": "boolean"},
            "model": {"type": "string"}, "uptime_s": {"type": "number"}, "pid": {"type": "integer"},
            "reader": {"type": ["string", "null"],
                       "description": "The reader's weights (QA_READER_WEIGHTS); null: none."},
            "query_runtime": {"type": ["string", "null"], "enum": ["onnxruntime", "torch", None],
                              "description": "What encodes questions: ONNX Runtime, or torch where its "
                              "exported graph could not be used; null before the model is loaded."},
            "reload_error": {"type": "string"},
            "generation": {"type": "string"}, "built_at": {"type": "string"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "examples": {"type": "array", "items": {"type": "string"},
                         "description": "Example questions for this corpus (corpus/example_questions.json)."},
            "message": {"type": ["string", "null"]}, "fix": {"type": "string"},
            "threads": {
                "type": "object", "description": "torch threads: encoding a request's question; the most "
                "one read takes (the cores idle when it starts, one beside another read; null without a "
                "reader); of web-started builds (QA_TORCH_THREADS); OpenMP's wait policy and spin count",
                "properties": {"question": {"type": "integer"}, "reader": {"type": ["integer", "null"]},
                               "build": {"type": "integer"},
                               "omp_wait_policy": {"type": ["string", "null"]},
                               "gomp_spincount": {"type": ["string", "null"]}},
            },
        },
    },
}


def openapi_spec() -> dict[str, Any]:
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    return {
        "openapi": "3.1.0",
        "info": {"title": "qa-service", "version": __version__,
                 "description": "Question answering over Chinese bulletin articles, with citations."},
        "paths": {
            "/api/ask": {"post": {
                "summary": "Answer a question: the exact answer, its sentence, passages and citations "
                           "(rate-limited per client: QA_RATE_LIMIT)",
                "operationId": "ask",
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": ref("AskRequest")}}},
                "responses": {"200": _json(ref("AskResponse"), "The answer"), **_errors(400, 413, 429, 503)},
            }},
            "/api/articles": {"post": {
                "summary": "Add an article to the corpus (admin); ?rebuild=1 also starts a build",
                "operationId": "addArticle", "security": [{"bearer": []}],
                "parameters": [{"name": "rebuild", "in": "query",
                                "schema": {"type": "integer", "enum": [0, 1], "default": 0}}],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": ref("NewArticle")},
                    "multipart/form-data": {"schema": {
                        "type": "object", "required": ["file"],
                        "properties": {"file": {"type": "array", "minItems": 1,
                                                "items": {"type": "string", "format": "binary"},
                                                "description": _UPLOAD_TYPES}}}}}},
                "responses": {"201": _json({"type": "object", "required": ["file", "rebuild"], "properties": {
                    "file": {"type": "string"}, "files": {"type": "array", "items": {"type": "string"}},
                    "rebuild": {"oneOf": [ref("BuildStatus"), {"type": "null"}]}}},
                    "Saved"), **_errors(400, 401, 403, 409, 413)},
            }, "get": {
                "summary": "List the indexed articles", "operationId": "listArticles",
                "parameters": [
                    {"name": "page", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 1000000, "default": 1}},
                    {"name": "per_page", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
                    {"name": "q", "in": "query", "description": "only titles containing this",
                     "schema": {"type": "string", "maxLength": 100}},
                    {"name": "sort", "in": "query", "description": "by source file, or newest first",
                     "schema": {"type": "string", "enum": ["source", "newest"], "default": "source"}},
                ],
                "responses": {"200": _json({
                    "type": "object", "required": ["articles", "page", "per_page", "total"],
                    "properties": {"articles": {"type": "array", "items": ref("ArticleSummary")},
                                   "page": {"type": "integer"}, "per_page": {"type": "integer"},
                                   "total": {"type": "integer"}}}, "A page of articles"),
                    **_errors(400, 503)},
            }},
            "/api/index/rebuild": {"post": {
                "summary": "Start an index build in the background (admin)", "operationId": "rebuild",
                "security": [{"bearer": []}],
                "responses": {"202": _json(ref("BuildStatus"), "Started"), **_errors(401, 403, 409)},
            }},
            "/api/index/status": {"get": {
                "summary": "State and progress of the last web-started build (admin)",
                "operationId": "rebuildStatus", "security": [{"bearer": []}],
                "responses": {"200": _json(ref("BuildStatus"), "Status"), **_errors(401, 403)},
            }},
            "/api/articles/{article_id}": {"get": {
                "summary": "One article's cleaned text with paragraph offsets", "operationId": "getArticle",
                "parameters": [_ARTICLE_ID],
                "responses": {"200": _json(ref("Article"), "The article"), **_errors(404, 503)},
            }, "delete": {
                "summary": "Remove an article (admin): its file where it holds only this article, else "
                           "the article is left out by an edit (corpus/.edits.json); ?rebuild=1 also builds",
                "operationId": "deleteArticle", "security": [{"bearer": []}],
                "parameters": [_ARTICLE_ID, _REBUILD],
                "responses": {"200": _json({"type": "object", "required": ["id", "removed_file", "excluded"],
                                            "properties": {"id": {"type": "string"},
                                                           "removed_file": {"type": ["string", "null"]},
                                                           "excluded": {"type": "boolean"},
                                                           "rebuild": _JOB}}, "Removed"),
                              **_errors(400, 401, 403, 404, 409, 503)},
            }, "put": {
                "summary": "Replace an article's text or metadata (admin), kept as an edit; the id stays",
                "operationId": "editArticle", "security": [{"bearer": []}],
                "parameters": [_ARTICLE_ID, _REBUILD],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": ref("ArticleEdit")}}},
                "responses": {"200": _json({"type": "object", "required": ["id", "edit"],
                                            "properties": {"id": {"type": "string"},
                                                           "edit": {"type": "object"}, "rebuild": _JOB}},
                                           "Saved"),
                              **_errors(400, 401, 403, 404, 409, 413, 503)},
            }},
            "/metrics": {"get": {
                "summary": "Prometheus metrics, all workers added up (admin): requests by endpoint "
                           "and status, latency of requests and of each step of an ask, found or not, "
                           "the served generation, its chunks, articles and build time",
                "operationId": "metrics", "security": [{"bearer": []}],
                "responses": {"200": {"description": "Prometheus text format",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}},
                              **_errors(401, 403)},
            }},
            "/api/feedback": {"post": {
                "summary": "👍 / 👎 on an answer, optionally with the right text selected (public, "
                           "rate-limited per client: QA_FEEDBACK_RATE_LIMIT)",
                "operationId": "addFeedback",
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": ref("FeedbackRequest")}}},
                "responses": {"201": _json({"type": "object", "required": ["id"],
                                            "properties": {"id": {"type": "integer"}}}, "Stored"),
                              **_errors(400, 404, 409, 413, 429)},
            }, "get": {
                "summary": "Feedback, newest first, 50 a page (admin)", "operationId": "listFeedback",
                "security": [{"bearer": []}],
                "parameters": [{"name": "page", "in": "query", "schema": {
                    "type": "integer", "minimum": 1, "maximum": 1000000, "default": 1}}],
                "responses": {"200": _json({
                    "type": "object", "required": ["feedback", "page", "per_page", "total"],
                    "properties": {"feedback": {"type": "array", "items": ref("Feedback")},
                                   "page": {"type": "integer"}, "per_page": {"type": "integer"},
                                   "total": {"type": "integer"}}}, "A page of feedback"),
                    **_errors(400, 401, 403)},
            }},
            "/api/health": {"get": {
                "summary": "Readiness, model, index generation, counts, uptime", "operationId": "health",
                "responses": {"200": _json(ref("Health"), "Ready"),
                              "503": _json(ref("Health"), "Running, but no index is loaded")},
            }},
            "/api/openapi.json": {"get": {
                "summary": "This document", "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI document",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
        },
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
