"""Request ids, one structured log line per request, and Prometheus metrics.

Every request gets an id: the client's ``X-Request-Id`` when it is a sane token (letters,
digits, ``.-_:``, at most 128), else a new one; the response echoes it. One JSON line per
request goes to the ``qa_service.access`` logger: id, method, route, status, milliseconds
and, for questions, whether the answer was found. The question itself is logged only with
``QA_LOG_QUESTIONS=1``: questions can be personal.

``GET /metrics`` (Prometheus text format) is admin-only, behind the same bearer token as
the other admin endpoints: the metrics name the served generation and the corpus size,
and one address needs no second port or firewall rule (a scraper sends the token with
``authorization: {credentials: …}``). Under gunicorn the workers' counts add up through
prometheus_client's multiprocess mode: ``qa-service serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before the workers start and tells the
library when one exits. Without it (tests, ``--debug``) the counts are this process's.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from typing import Any

from flask import Flask, Response, g, request

access_log = logging.getLogger("qa_service.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Seconds: an ask takes tens of milliseconds, a question over a huge corpus a second or two.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ASK_STEPS = ("encode", "dense", "lexical", "fusion", "answer", "read")


class Metrics:
    """The service's metrics, in a registry of this app's own (tests build many apps)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry()
        kw: dict[str, Any] = {"registry": self.registry}
        self.requests = Counter("qa_http_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "method", "status"], **kw)
        self.latency = Histogram("qa_http_request_seconds", "HTTP request time by endpoint",
                                 ["endpoint"], buckets=_BUCKETS, **kw)
        self.ask_steps = Histogram("qa_ask_step_seconds", "Time of each step of answering a question",
                                   ["step"], buckets=_BUCKETS, **kw)
        self.answers = Counter("qa_answers", "Questions answered, by whether an answer was found",
                               ["found"], **kw)
        self.generation = Gauge("qa_index_generation", "Number of the served index generation",
                                multiprocess_mode="mostrecent", **kw)
        self.chunks = Gauge("qa_index_chunks", "Chunks in the served index",
                            multiprocess_mode="mostrecent", **kw)
        self.articles = Gauge("qa_index_articles", "Articles in the served index",
                              multiprocess_mode="mostrecent", **kw)
        self.build_seconds = Gauge("qa_index_build_seconds", "How long the served generation took to build",
                                   multiprocess_mode="mostrecent", **kw)

    def observe_index(self, generation: str, manifest: dict) -> None:
        number = re.search(r"(\d+)$", generation)
        self.generation.set(int(number.group(1)) if number else 0)
        counts = manifest.get("counts", {})
        self.chunks.set(counts.get("chunks", 0))
        self.articles.set(counts.get("articles", 0))
        self.build_seconds.set(manifest.get("build", {}).get("seconds", 0) or 0)

    def observe_ask(self, found: bool, timings: dict[str, float]) -> None:
        self.answers.labels(found=str(found).lower()).inc()
        for step in ASK_STEPS:
            if step in timings:
                self.ask_steps.labels(step=step).observe(timings[step])

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        if not self.multiprocess:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        merged = CollectorRegistry()  # every worker's files, added up
        MultiProcessCollector(merged)
        return generate_latest(merged), CONTENT_TYPE_LATEST


def install(app: Flask) -> Metrics:
    """Request ids, the access log line and the metrics for every request of ``app``."""
    metrics = Metrics()
    if not access_log.handlers:  # one JSON object per line on stderr, whatever else logs
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.propagate = False
        access_log.setLevel(logging.INFO)
    log_questions = str(app.config.get("LOG_QUESTIONS", "0")).strip().lower() in {"1", "true", "yes"}

    @app.before_request
    def start() -> None:
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-Id"] = request_id
        # The route's rule, not the path: /api/articles/<article_id> is one series, not one per id.
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        status = str(response.status_code)
        metrics.requests.labels(endpoint=endpoint, method=request.method, status=status).inc()
        metrics.latency.labels(endpoint=endpoint).observe(seconds)
        line: dict[str, Any] = {"request_id": request_id, "method": request.method, "route": endpoint,
                                "status": response.status_code, "ms": round(seconds * 1000, 1)}
        if "found" in g:
            line["found"] = g.found
        if log_questions and "question" in g:
            line["question"] = g.question
        access_log.info(json.dumps(line, ensure_ascii=False))
        return response

    return metrics
