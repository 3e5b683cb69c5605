"""Request ids, the access log line, and /metrics."""

from __future__ import annotations

import json
import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from qa_service.config import Settings
from qa_service.index import build_index
from qa_service.web import create_app

from ..conftest import FakeEncoder, FakeReader

AUTH = {"Authorization": "Bearer secret"}


def make_app(settings: Settings, encoder: FakeEncoder, **config: object) -> Flask:
    build_index(settings, encoder)
    return create_app({"INDEX_DIR": str(settings.index_dir), "MODEL": encoder.name, "ENCODER": encoder,
                       "READER": FakeReader(), "TESTING": True, "RELOAD_SECONDS": 0,
                       "ADMIN_TOKEN": "secret", **config})


@pytest.fixture
def client(settings: Settings, fake_encoder: FakeEncoder) -> FlaskClient:
    return make_app(settings, fake_encoder).test_client()


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(record.getMessage()))


@pytest.fixture
def access() -> Lines:
    handler = Lines()
    logger = logging.getLogger("qa_service.access")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_every_response_carries_a_request_id_the_client_may_choose(client: FlaskClient) -> None:
    chosen = client.get("/api/health", headers={"X-Request-Id": "abc-123"})
    assert chosen.headers["X-Request-Id"] == "abc-123"
    made = client.get("/api/health", headers={"X-Request-Id": "no spaces; no <tags>"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-Id"])
    assert client.get("/nowhere").headers["X-Request-Id"]  # errors too


def test_one_json_line_per_request_without_the_question(client: FlaskClient, access: Lines) -> None:
    client.post("/api/ask", json={"question": "全区共完成厕所改造多少户?"}, headers={"X-Request-Id": "q1"})
    client.get("/api/articles/0000000000000000")
    asked, missing = access.lines[-2:]
    assert asked["request_id"] == "q1" and asked["route"] == "/api/ask" and asked["status"] == 200
    assert asked["found"] is True and isinstance(asked["ms"], float) and "question" not in asked
    assert missing["route"] == "/api/articles/<article_id>" and missing["status"] == 404


def test_questions_are_logged_only_when_asked_for(settings: Settings, fake_encoder: FakeEncoder,
                                                  access: Lines) -> None:
    client = make_app(settings, fake_encoder, LOG_QUESTIONS=True).test_client()
    client.post("/api/ask", json={"question": "全区共完成厕所改造多少户?"})
    assert access.lines[-1]["question"] == "全区共完成厕所改造多少户?"


def test_metrics_are_admin_only_and_count_what_was_asked(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 401
    for question in ["全区共完成厕所改造多少户?", "讲评总结大会由谁主持？", "上海浦东新区今年的GDP是多少？"]:
        client.post("/api/ask", json={"question": question})
    client.post("/api/ask", json={"question": ""})
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'qa_http_requests_total{endpoint="/api/ask",method="POST",status="200"} 3.0' in text
    assert 'qa_http_requests_total{endpoint="/api/ask",method="POST",status="400"} 1.0' in text
    assert 'qa_answers_total{found="true"} 2.0' in text and 'qa_answers_total{found="false"} 1.0' in text
    for step in ("encode", "dense", "lexical", "fusion", "read"):
        assert f'qa_ask_step_seconds_count{{step="{step}"}} 3.0' in text
    assert "qa_index_generation 1.0" in text and re.search(r"^qa_index_chunks [1-9]", text, re.M)
    assert 'qa_http_request_seconds_count{endpoint="/api/ask"} 4.0' in text


def test_metrics_are_off_without_an_admin_token(settings: Settings, fake_encoder: FakeEncoder) -> None:
    client = make_app(settings, fake_encoder, ADMIN_TOKEN=None).test_client()
    assert client.get("/metrics").status_code == 403
