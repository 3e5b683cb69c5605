from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient

from qa_service.config import Settings
from qa_service.index import build_index
from qa_service.web import create_app, openapi_spec

from ..conftest import FakeEncoder, FakeReader

QUESTION = "全区共完成厕所改造多少户?"


@pytest.fixture
def app(settings: Settings, fake_encoder: FakeEncoder) -> Flask:
    build_index(settings, fake_encoder)
    return create_app({"INDEX_DIR": str(settings.index_dir), "MODEL": fake_encoder.name,
                       "ENCODER": fake_encoder, "READER": FakeReader(), "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def conforms(body: Any, schema_name: str) -> None:
    spec = openapi_spec()
    jsonschema.validate(body, {"$ref": f"#/components/schemas/{schema_name}",
                               "components": spec["components"]})


def test_ask_answers_with_citations(client: FlaskClient) -> None:
    response = client.post("/api/ask", json={"question": QUESTION, "top_k": 3})
    assert response.status_code == 200
    body = response.get_json()
    conforms(body, "AskResponse")
    assert body["question"] == QUESTION and body["generation"] == "gen-000001"
    assert len(body["passages"]) == 3
    assert "14880户" in body["passages"][0]["text"]
    # The reader's exact span, the sentence around it, and the passage that holds both first.
    answer = body["answer"]
    assert answer["text"] == "14880户" and answer["kind"] == "span" and answer["passage_rank"] == 1
    assert "14880户" in answer["sentence"]["text"] and body["found"] is True
    assert body["passages"][0]["answer_span"] == [answer["char_start"], answer["char_end"]]


def test_without_a_reader_the_json_keeps_its_old_meaning(tmp_path: Path, settings: Settings,
                                                         fake_encoder: FakeEncoder) -> None:
    build_index(settings, fake_encoder)
    app = create_app({"INDEX_DIR": str(settings.index_dir), "ENCODER": fake_encoder, "READER": None,
                      "READER_WEIGHTS": "none", "TESTING": True})
    body = app.test_client().post("/api/ask", json={"question": QUESTION}).get_json()
    conforms(body, "AskResponse")
    assert body["answer"]["kind"] == "sentence" and "14880户" in body["answer"]["text"]
    assert app.test_client().get("/api/health").get_json()["reader"] is None


def test_missing_reader_weights_say_so_in_health(tmp_path: Path, settings: Settings,
                                                 fake_encoder: FakeEncoder) -> None:
    build_index(settings, fake_encoder)
    app = create_app({"INDEX_DIR": str(settings.index_dir), "ENCODER": fake_encoder,
                      "READER_WEIGHTS": str(tmp_path / "gone.safetensors"), "TESTING": True})
    health = app.test_client().get("/api/health").get_json()
    assert health["ready"] is False and "gone.safetensors" in health["message"]
    response = app.test_client().post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 503


def test_a_generation_that_fails_to_load_is_retried_by_requests_not_by_the_watcher(
        tmp_path: Path, settings: Settings, fake_encoder: FakeEncoder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Before, the watcher loaded the whole index again every RELOAD_SECONDS, for ever.
    import qa_service.web.service as service

    build_index(settings, fake_encoder)
    loads: list[Path] = []
    real_load_index = service.load_index
    monkeypatch.setattr(service, "load_index", lambda path: loads.append(path) or real_load_index(path))
    app = create_app({"INDEX_DIR": str(settings.index_dir), "ENCODER": fake_encoder,
                      "READER_WEIGHTS": str(tmp_path / "gone.safetensors"), "RELOAD_SECONDS": 0.02})
    time.sleep(0.3)
    assert len(loads) == 1
    monkeypatch.setattr(service, "RETRY_SECONDS", 0.0)
    assert app.test_client().get("/api/health").get_json()["ready"] is False
    assert len(loads) == 2


def test_integral_floats_are_integers_as_in_json_schema(client: FlaskClient) -> None:
    response = client.post("/api/ask", json={"question": QUESTION, "top_k": 2.0})
    assert response.status_code == 200 and len(response.get_json()["passages"]) == 2


def test_ask_uses_defaults_and_accepts_history(client: FlaskClient) -> None:
    body = {"question": "总投资是多少?", "history": ["藁城区今年开工了多少个重点项目?"]}
    response = client.post("/api/ask", json=body)
    assert response.status_code == 200
    assert len(response.get_json()["passages"]) == 5


def error_of(response: Any) -> tuple[int, str]:
    body = response.get_json()
    assert response.is_json, response.data[:200]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    return response.status_code, body["error"]["code"]


@pytest.mark.parametrize("payload, status, code", [
    (None, 400, "invalid_json"),
    ([QUESTION], 400, "invalid_json"),
    ("just a string", 400, "invalid_json"),
    ({}, 400, "invalid_request"),
    ({"question": 42}, 400, "invalid_request"),
    ({"question": None}, 400, "invalid_request"),
    ({"question": ""}, 400, "empty_question"),
    ({"question": " \n\t "}, 400, "empty_question"),
    ({"question": "问" * 501}, 400, "question_too_long"),
    ({"question": QUESTION, "top_k": 0}, 400, "invalid_request"),
    ({"question": QUESTION, "top_k": 21}, 400, "invalid_request"),
    ({"question": QUESTION, "top_k": "5"}, 400, "invalid_request"),
    ({"question": QUESTION, "top_k": 1.5}, 400, "invalid_request"),
    ({"question": QUESTION, "top_k": True}, 400, "invalid_request"),
    ({"question": QUESTION, "top_k": 1e9}, 400, "invalid_request"),
    ({"question": QUESTION, "history": "previous"}, 400, "invalid_request"),
    ({"question": QUESTION, "history": [1, 2]}, 400, "invalid_request"),
    ({"question": QUESTION, "history": ["问"] * 11}, 400, "invalid_request"),
])
def test_bad_ask_requests_get_clear_json_errors(
    client: FlaskClient, payload: Any, status: int, code: str
) -> None:
    response = client.post("/api/ask") if payload is None else client.post("/api/ask", json=payload)
    assert error_of(response) == (status, code)


@pytest.mark.parametrize("question", ["😀🎉", "？？！！。。", "\u200b…", "\x03\x00"])
def test_questions_with_nothing_to_search_are_answered_as_not_found(
    client: FlaskClient, question: str
) -> None:
    response = client.post("/api/ask", json={"question": question})
    assert response.status_code == 200
    body = response.get_json()
    conforms(body, "AskResponse")
    assert body["found"] is False and body["passages"] == [] and body["answer"] is None
    assert "没有可以查找的文字" in body["message"]


def test_malformed_bodies_are_rejected(client: FlaskClient) -> None:
    cases = [
        client.post("/api/ask", data=b"{not json", content_type="application/json"),
        client.post("/api/ask", data=b'{"question": "\xff\xfe"}', content_type="application/json"),
        client.post("/api/ask", data="question=hi", content_type="application/x-www-form-urlencoded"),
    ]
    for response in cases:
        assert error_of(response) == (400, "invalid_json")


def test_body_over_16_kb_is_413(client: FlaskClient) -> None:
    body = json.dumps({"question": QUESTION, "padding": "x" * 17000})
    response = client.post("/api/ask", data=body, content_type="application/json")
    assert error_of(response) == (413, "body_too_large")


@pytest.mark.parametrize("question", [
    "<script>alert('x')</script>藁城区厕所改造",
    "' OR 1=1; DROP TABLE articles; -- 厕所",
    "厕所改造\x00\x07\x1b[31m多少户",
    "藁城区 Toilets 厕所 改造 😀",
])
def test_hostile_but_valid_questions_are_answered(client: FlaskClient, question: str) -> None:
    response = client.post("/api/ask", json={"question": question})
    assert response.status_code == 200
    body = response.get_json()
    assert body["question"] == question  # echoed as data; JSON escapes it
    assert body["passages"]


def test_unknown_routes_and_methods_under_api_are_json(client: FlaskClient) -> None:
    assert error_of(client.get("/api/nope")) == (404, "not_found")
    response = client.get("/api/ask")
    assert error_of(response) == (405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    assert error_of(client.delete("/api/health")) == (405, "method_not_allowed")


def test_articles_are_listed_with_counts_and_paginated(client: FlaskClient) -> None:
    body = client.get("/api/articles?per_page=2").get_json()
    assert body["total"] == 3 and body["page"] == 1 and len(body["articles"]) == 2
    conforms(body["articles"][0], "ArticleSummary")
    second = client.get("/api/articles?per_page=2&page=2").get_json()
    assert len(second["articles"]) == 1
    ids = {a["id"] for a in body["articles"] + second["articles"]}
    assert len(ids) == 3
    assert all(a["chunks"] > 0 and a["paragraphs"] > 0 for a in body["articles"])
    for bad in ["page=0", "per_page=1000", "page=abc", "per_page=-1", "page=" + "9" * 30, "page=１"]:
        assert error_of(client.get(f"/api/articles?{bad}"))[0] == 400


def test_article_has_text_and_paragraph_offsets(client: FlaskClient) -> None:
    answer = client.post("/api/ask", json={"question": QUESTION}).get_json()["passages"][0]
    body = client.get(f"/api/articles/{answer['article']['id']}").get_json()
    conforms(body, "Article")
    assert body["text"][answer["char_start"] : answer["char_end"]] == answer["text"]
    para = body["paragraphs"][answer["paragraph"]]
    assert para["start"] <= answer["char_start"] < para["end"]


def test_an_article_carries_its_authors_and_summary(client: FlaskClient) -> None:
    listed = client.get("/api/articles?per_page=10").get_json()["articles"]
    chosen = next(a for a in listed if a["title"] == "藁城这一年")
    assert chosen["authors"] == ["张建功", "秦思", "王凯凯", "苏秋菊"]
    assert chosen["summary"][0]["kind"] == "lead" and chosen["summary"][0]["text"].startswith("今年以来")
    body = client.get(f"/api/articles/{chosen['id']}").get_json()
    conforms(body, "Article")
    for part in body["summary"] + [{**a, "text": a["name"]} for a in body["authors"]]:
        assert body["text"][part["char_start"] : part["char_end"]] == part["text"]
    assert [p["text"] for p in body["summary"]] == [p["text"] for p in chosen["summary"]]


def test_shaped_answers_conform_to_the_spec(client: FlaskClient) -> None:
    for question in ("总结一下《藁城这一年》这篇文章的主要内容。", "《藁城这一年》是谁写的？",
                     "《聚力项目建设 蓄积发展后劲》是哪天发表的？", QUESTION):
        body = client.post("/api/ask", json={"question": question}).get_json()
        conforms(body, "AskResponse")
        assert body["found"] and body["answer"]["shape"] == body["shape"]["kind"]


@pytest.mark.parametrize("article_id", ["0000000000000000", "..%2F..%2Fetc%2Fpasswd", "ABC", "x" * 300])
def test_unknown_or_malformed_article_ids_are_404(client: FlaskClient, article_id: str) -> None:
    assert error_of(client.get(f"/api/articles/{article_id}")) == (404, "not_found")


def test_health_reports_model_generation_counts(client: FlaskClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    conforms(body, "Health")
    assert body["ready"] is True and body["generation"] == "gen-000001"
    assert body["counts"] == {"files": 2, "articles": 3, "chunks": body["counts"]["chunks"]}
    assert body["threads"]["question"] == 1 and body["threads"]["build"] >= 1
    assert body["threads"]["omp_wait_policy"]  # set before the model loads, by create_app at the latest


def test_without_an_index_health_says_how_to_fix_and_ask_is_503(tmp_path: Path,
                                                                fake_encoder: FakeEncoder) -> None:
    app = create_app({"INDEX_DIR": str(tmp_path / "none"), "ENCODER": fake_encoder, "READER": None,
                      "TESTING": True})
    client = app.test_client()
    response = client.get("/api/health")
    assert response.status_code == 503
    body = response.get_json()
    conforms(body, "Health")
    assert body["ready"] is False and "qa-service index" in body["fix"]
    assert error_of(client.post("/api/ask", json={"question": QUESTION})) == (503, "not_ready")


def test_openapi_spec_is_valid_and_matches_the_routes(app: Flask, client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    spec = client.get("/api/openapi.json").get_json()
    validate(spec)
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api") or rule.rule == "/metrics":
            path = rule.rule.replace("<article_id>", "{article_id}")
            routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed


def test_page_is_served_with_security_headers_and_no_inline_script(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<script type="module" src=' in html and "<script>" not in html and " on" + "click=" not in html
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert client.get("/static/app.js").status_code == 200
    assert "Access-Control-Allow-Origin" not in client.get("/api/health").headers


def test_brackets_inside_strings_are_not_nesting(client: FlaskClient) -> None:
    body = json.dumps({"question": "厕所改造" + "[{" * 100, "history": ["【" * 50 + "[" * 100]})
    assert client.post("/api/ask", data=body, content_type="application/json").status_code == 200
    deep = b'{"question": "x", "history": ' + b"[" * 100 + b"]" * 100 + b"}"
    response = client.post("/api/ask", data=deep, content_type="application/json")
    assert error_of(response) == (400, "invalid_json") and "nested" in response.get_json()["error"]["message"]


def test_ask_filters_by_source_and_date_and_refuses_bad_dates(client: FlaskClient) -> None:
    by_file = client.post("/api/ask", json={"question": QUESTION, "source": "004_"}).get_json()
    conforms(by_file, "AskResponse")
    assert by_file["filters"] == {"date_from": None, "date_to": None, "source": "004_"}
    assert {p["article"]["source"] for p in by_file["passages"]} == {"004_9a059b5030db942b.txt"}
    # 004's articles date themselves 2021-10-10 in their text; 000's only by its file.
    october = client.post("/api/ask", json={"question": QUESTION, "date_from": "2021-10",
                                            "date_to": "2021-10"}).get_json()
    assert october["filters"] == {"date_from": "2021-10-01", "date_to": "2021-10-31", "source": None}
    assert {(p["article"]["date"], p["article"]["date_source"]) for p in october["passages"]} == {
        ("2021-10-10", "text")}
    for bad in ({"date_from": "yesterday"}, {"date_to": "2021-13"}, {"date_from": 2021},
                {"date_to": "2021-02-30"}, {"source": ""}, {"source": ["a"]}):
        response = client.post("/api/ask", json={"question": QUESTION, **bad})
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["code"] == "invalid_request"


def test_articles_carry_their_date_and_its_source(client: FlaskClient) -> None:
    listed = client.get("/api/articles?sort=newest").get_json()["articles"]
    sources = {a["title"]: (a["date"], a["date_source"]) for a in listed}
    assert sources["聚力项目建设 蓄积发展后劲"] == ("2021-10-10", "text")
    assert sources["藁城这一年"][1] == "file_mtime"
    article = client.get(f"/api/articles/{listed[0]['id']}").get_json()
    conforms(article, "Article")
    assert article["date_source"] in {"text", "file_mtime"}
