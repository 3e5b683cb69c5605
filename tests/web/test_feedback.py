"""👍 / 👎 feedback: stored over the public endpoint, listed for the admin, exported by the
CLI as test questions the benchmarks read."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from benchmarks.retrieval import BULLETIN_QUESTIONS
from qa_service.cli import main
from qa_service.config import Settings
from qa_service.index import build_index
from qa_service.web import create_app

from ..conftest import FakeEncoder, FakeReader

QUESTION = "全区共完成厕所改造多少户?"
TOKEN = "s3cret-token"


@pytest.fixture
def app(settings: Settings, fake_encoder: FakeEncoder, tmp_path: Path) -> Flask:
    build_index(settings, fake_encoder)
    return create_app({"INDEX_DIR": str(settings.index_dir), "CORPUS_DIR": str(settings.corpus_dir),
                       "MODEL": fake_encoder.name, "ENCODER": fake_encoder, "READER": FakeReader(),
                       "ADMIN_TOKEN": TOKEN, "TESTING": True, "RELOAD_SECONDS": 0})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _asked(client: FlaskClient) -> dict:
    return client.post("/api/ask", json={"question": QUESTION}).get_json()


def _span(client: FlaskClient, result: dict, text: str) -> dict:
    """Where ``text`` stands in the top passage's article, as the page would select it."""
    passage = result["passages"][0]
    article = client.get(f"/api/articles/{passage['article']['id']}").get_json()
    start = article["text"].index(text)
    return {"article_id": article["id"], "char_start": start, "char_end": start + len(text), "text": text}


def _feedback(result: dict, rating: str, **extra: Any) -> dict:
    answer = result["answer"]["text"] if result["found"] else None
    return {"rating": rating, "question": result["question"], "found": result["found"], "answer": answer,
            "generation": result["generation"], **extra}


def test_feedback_is_stored_beside_the_corpus_and_listed_for_the_admin(client: FlaskClient,
                                                                        settings: Settings) -> None:
    result = _asked(client)
    response = client.post("/api/feedback", json=_feedback(result, "up"))
    assert response.status_code == 201 and isinstance(response.get_json()["id"], int)
    database = settings.corpus_dir.parent / "feedback.sqlite3"
    assert database.is_file()  # beside the corpus folder, not inside an index generation
    assert not list(settings.index_dir.rglob("feedback*"))

    assert client.get("/api/feedback").status_code == 401  # admin-only
    listed = client.get("/api/feedback", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
    assert listed["total"] == 1
    row = listed["feedback"][0]
    assert (row["rating"], row["question"], row["answer"], row["generation"]) == (
        "up", QUESTION, "14880户", "gen-000001")


def test_a_selection_is_checked_against_the_article(client: FlaskClient) -> None:
    result = _asked(client)
    selection = _span(client, result, "14880户")
    ok = client.post("/api/feedback", json=_feedback(result, "down", selection=selection))
    assert ok.status_code == 201
    wrong = dict(selection, char_start=selection["char_start"] + 1)
    response = client.post("/api/feedback", json=_feedback(result, "down", selection=wrong))
    assert response.status_code == 409  # e.g. the article changed since the page showed it
    assert "not the article's text" in response.get_json()["error"]["message"]
    unknown = dict(selection, article_id="0" * 16)
    assert client.post("/api/feedback", json=_feedback(result, "down", selection=unknown)).status_code == 404


@pytest.mark.parametrize("body", [
    None, [], {"rating": "meh", "question": QUESTION, "found": True},
    {"rating": "up", "question": "", "found": True},
    {"rating": "up", "question": QUESTION, "found": "yes"},
    {"rating": "up", "question": QUESTION, "found": True, "answer": "长" * 2001},
    {"rating": "up", "question": "问" * 501, "found": True},
    {"rating": "up", "question": QUESTION, "found": True, "history": ["a"] * 11},
    {"rating": "down", "question": QUESTION, "found": True, "selection": {"article_id": "x"}},
    {"rating": "down", "question": QUESTION, "found": True,
     "selection": {"article_id": "0" * 16, "char_start": True, "char_end": 3, "text": "abc"}},
])
def test_bad_feedback_is_a_clear_400_and_stores_nothing(client: FlaskClient, body: Any) -> None:
    response = client.post("/api/feedback", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"]
    listed = client.get("/api/feedback", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
    assert listed["total"] == 0


def test_feedback_is_rate_limited_per_client(settings: Settings, fake_encoder: FakeEncoder) -> None:
    build_index(settings, fake_encoder)
    app = create_app({"INDEX_DIR": str(settings.index_dir), "CORPUS_DIR": str(settings.corpus_dir),
                      "ENCODER": fake_encoder, "READER": FakeReader(), "TESTING": True,
                      "RELOAD_SECONDS": 0, "FEEDBACK_RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    body = {"rating": "up", "question": QUESTION, "found": False}
    codes = [client.post("/api/feedback", json=body).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    limited = client.post("/api/feedback", json=body)
    assert limited.get_json()["error"]["code"] == "rate_limited" and limited.headers.get("Retry-After")
    # Asking is not limited by it.
    assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200


def test_export_turns_feedback_into_benchmark_questions(client: FlaskClient, settings: Settings,
                                                        tmp_path: Path) -> None:
    result = _asked(client)
    client.post("/api/feedback", json=_feedback(result, "up"))  # confirms 14880户
    right = _span(client, result, "14880户")
    client.post("/api/feedback", json=_feedback(result, "down", selection=right))  # names the answer
    client.post("/api/feedback", json=_feedback(result, "down"))  # wrong, right one unknown: skipped
    client.post("/api/feedback", json={"rating": "up", "question": "北京冬奥会是哪天开幕的？",
                                       "found": False, "history": [QUESTION]})  # confirmed unanswerable

    out = tmp_path / "out" / "feedback.jsonl"
    run = CliRunner().invoke(main, ["feedback", "export", "--corpus", str(settings.corpus_dir),
                                    "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert "3 test questions" in run.stderr and "1 👎" in run.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["question"], r["answer"]) for r in rows] == [
        (QUESTION, "14880户"), (QUESTION, "14880户"), ("北京冬奥会是哪天开幕的？", None)]
    assert rows[2]["history"] == [QUESTION]
    # The same keys the shipped benchmark questions have, so benchmarks/answers.py reads them.
    shipped = json.loads(BULLETIN_QUESTIONS.read_text(encoding="utf-8").splitlines()[0])
    assert set(shipped) <= set(rows[0])


def test_export_names_a_missing_or_damaged_database(tmp_path: Path) -> None:
    missing = CliRunner().invoke(main, ["feedback", "export", "--db", str(tmp_path / "none.sqlite3")])
    assert missing.exit_code == 1 and "none.sqlite3" in missing.stderr
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"not a database" * 100)
    run = CliRunner().invoke(main, ["feedback", "export", "--db", str(damaged)])
    assert run.exit_code == 1 and "damaged.sqlite3" in run.stderr
    assert "Traceback" not in run.output


def test_feedback_survives_a_rebuild(client: FlaskClient, app: Flask, settings: Settings,
                                     fake_encoder: FakeEncoder) -> None:
    client.post("/api/feedback", json={"rating": "up", "question": QUESTION, "found": False})
    build_index(settings, fake_encoder, full=True)
    database = settings.corpus_dir.parent / "feedback.sqlite3"
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM feedback").fetchone()[0] == 1
