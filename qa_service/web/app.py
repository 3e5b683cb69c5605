"""Flask app factory: configuration, the per-process service state, blueprints, headers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, request, send_from_directory
from flask_limiter import Limiter
from werkzeug.exceptions import HTTPException

from ..config import default_model_cache
from ..corpus import MAX_DOCUMENT_BYTES
from ..feedback import FeedbackStore, default_feedback_db
from ..models import BUILTIN_MODEL, prefer_passive_waits
from . import api, feedback, observability, ratelimit
from .service import ServiceState

STATIC = Path(__file__).with_name("static")
MAX_BODY_BYTES = 16 * 1024
MAX_ARTICLE_BODY_BYTES = 1024 * 1024
MAX_UPLOAD_BYTES = MAX_DOCUMENT_BYTES + 1024 * 1024  # one file at the corpus's limit, plus the form

# No inline script or style anywhere: the page's data can never become code.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

web = Blueprint("web", __name__)


@web.get("/")
def chat_page() -> Response:
    response = send_from_directory(STATIC, "index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@web.get("/admin")
def admin_page() -> Response:
    # The page itself is public (it holds no data); every call it makes needs the token.
    response = send_from_directory(STATIC, "admin.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@web.get("/metrics")
@api.require_admin
def metrics() -> Response:
    """Prometheus text format, admin-only (see observability.py for why)."""
    from flask import current_app

    state = current_app.extensions["qa"]
    collected = current_app.extensions["metrics"]
    retriever = state.current()
    if retriever is not None:
        collected.observe_index(retriever.index.generation, retriever.index.manifest)
    body, content_type = collected.exposition()
    return Response(body, content_type=content_type)


@web.get("/favicon.ico")
def favicon() -> Response:
    # Browsers ask for /favicon.ico whatever the page links; an SVG answers it.
    response = send_from_directory(STATIC, "favicon.svg", mimetype="image/svg+xml", max_age=86400)
    return response


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Defaults, then ``QA_*`` environment variables, then ``test_config``.

    ``test_config`` may carry ``ENCODER`` (an object with the Encoder interface) and
    ``READER`` (one with the PassageReader interface, or None) so that unit tests run
    against fakes; the server always loads the configured model and reader.
    """
    # Before the model (and torch) is loaded, also where the app runs under another WSGI server.
    prefer_passive_waits()
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.config.from_mapping(
        INDEX_DIR="embeddings",
        CORPUS_DIR="corpus",
        ADMIN_TOKEN=None,  # QA_ADMIN_TOKEN enables /api/index/* and POST /api/articles
        RELOAD_SECONDS=2.0,  # how often each worker looks for a new index generation
        MODEL=BUILTIN_MODEL,
        MODEL_CACHE=str(default_model_cache()),
        PRECISION="auto",  # encoder precision: auto, fp32 or bf16 (see models/encoder.py)
        TORCH_THREADS=0,  # threads of web-started builds; 0: the cores this process may use
        READER_WEIGHTS="builtin",  # the reader's weights: builtin, a file, or none
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        FEEDBACK_DB=None,  # default: feedback.sqlite3 beside the corpus folder, outside every index
        # Per client address (ratelimit.py). In process by default; `qa-service serve` counts
        # across its workers in a SQLite file (sqlite://…), redis:// across servers.
        # /api/ask: generous; a person types far slower, but an office may share one address.
        RATE_LIMIT="600 per minute;20000 per hour",
        FEEDBACK_RATE_LIMIT="20 per minute;300 per day",
        RATELIMIT_STORAGE_URI="memory://",
        TRUSTED_PROXIES="",  # addresses whose X-Forwarded-For is believed (comma-separated)
        LOG_QUESTIONS=False,  # QA_LOG_QUESTIONS=1 puts question text in the access log
    )
    app.config.from_prefixed_env("QA")
    if test_config:
        app.config.from_mapping(test_config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    state = ServiceState(index_dir=Path(app.config["INDEX_DIR"]), model=str(app.config["MODEL"]),
                         model_cache=Path(app.config["MODEL_CACHE"]),
                         precision=str(app.config["PRECISION"]),
                         torch_threads=int(app.config["TORCH_THREADS"]),
                         reader_weights=str(app.config["READER_WEIGHTS"]),
                         encoder=app.config.get("ENCODER"))
    if "READER" in app.config:  # a test's fake reader, or None for none
        state.use_reader(app.config["READER"])
    app.extensions["qa"] = state
    state.load()
    if float(app.config["RELOAD_SECONDS"]) > 0:
        state.start_watcher(float(app.config["RELOAD_SECONDS"]))

    feedback_db = app.config["FEEDBACK_DB"] or default_feedback_db(Path(app.config["CORPUS_DIR"]))
    app.extensions["feedback"] = FeedbackStore(Path(feedback_db))

    app.extensions["metrics"] = observability.install(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(feedback.bp)
    # The public endpoints: asking, and the one that writes (feedback).
    trusted = ratelimit.trusted_proxies(app.config["TRUSTED_PROXIES"])

    def client() -> str:
        return ratelimit.client_address(request.remote_addr, request.headers.get("X-Forwarded-For"), trusted)

    def setting(name: str) -> Callable[[], str]:
        return lambda: str(app.config[name])  # read per request: tests and operators may change it

    limiter = Limiter(client, app=app, storage_uri=str(app.config["RATELIMIT_STORAGE_URI"]),
                      headers_enabled=True)
    app.extensions["limiter"] = limiter
    for endpoint, name in (("feedback.post_feedback", "FEEDBACK_RATE_LIMIT"), ("api.ask", "RATE_LIMIT")):
        rate = limiter.limit(setting(name), methods=["POST"])
        app.view_functions[endpoint] = rate(app.view_functions[endpoint])  # type: ignore[assignment]
    app.register_blueprint(web)
    app.register_error_handler(api.ApiError, api.handle_api_error)  # for every blueprint under /api
    app.register_error_handler(HTTPException, api.handle_http_error)
    app.register_error_handler(Exception, api.handle_unexpected)

    @app.before_request
    def body_limit() -> None:
        # Questions are small; only an uploaded article may be larger.
        if request.path == "/api/articles" and request.method == "POST":
            # A typed article is small; an uploaded PDF or scan may be large.
            multipart = request.mimetype == "multipart/form-data"
            request.max_content_length = MAX_UPLOAD_BYTES if multipart else MAX_ARTICLE_BODY_BYTES
        elif request.path.startswith("/api/articles/") and request.method == "PUT":
            request.max_content_length = MAX_ARTICLE_BODY_BYTES

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    logging.getLogger("qa_service").setLevel(logging.INFO)
    return app

