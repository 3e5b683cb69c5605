from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from qa_service.config import Settings
from qa_service.index import build_index, generations
from qa_service.web import create_app

from ..conftest import FakeEncoder, FakeReader

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ARTICLE = {"title": "新建图书馆开放", "text": "藁城区新建的图书馆今天开放,共有藏书十二万册。",
           "date": "2021-12-01"}


def make_app(settings: Settings, encoder: FakeEncoder, **extra: Any) -> Flask:
    config = {"INDEX_DIR": str(settings.index_dir), "CORPUS_DIR": str(settings.corpus_dir),
              "MODEL": encoder.name, "ENCODER": encoder, "READER": FakeReader(), "TESTING": True,
              "RELOAD_SECONDS": 0.2}
    return create_app({**config, **extra})


@pytest.fixture
def admin(settings: Settings, fake_encoder: FakeEncoder) -> FlaskClient:
    build_index(settings, fake_encoder)
    return make_app(settings, fake_encoder, ADMIN_TOKEN=TOKEN).test_client()


def wait_for(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_admin_endpoints_are_off_without_a_token(settings: Settings, fake_encoder: FakeEncoder) -> None:
    build_index(settings, fake_encoder)
    client = make_app(settings, fake_encoder).test_client()
    for response in (client.post("/api/index/rebuild", headers=AUTH), client.get("/api/index/status"),
                     client.post("/api/articles", json=ARTICLE, headers=AUTH)):
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "admin_disabled"
        assert "QA_ADMIN_TOKEN" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                                     {"Authorization": f"Basic {TOKEN}"}, {"Authorization": "Bearer "}])
def test_wrong_or_missing_tokens_get_401_without_leaking(admin: FlaskClient, headers: dict) -> None:
    response = admin.post("/api/index/rebuild", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert TOKEN not in response.get_data(as_text=True)
    assert admin.get("/api/index/status", headers=headers).status_code == 401


def test_added_article_gets_a_safe_name_and_is_searchable_after_rebuild(
    admin: FlaskClient, settings: Settings
) -> None:
    body = {**ARTICLE, "title": "../../etc/passwd 图书馆", "source": "藁城区融媒体中心"}
    response = admin.post("/api/articles?rebuild=1", json=body, headers=AUTH)
    assert response.status_code == 201
    saved = response.get_json()
    assert saved["file"].startswith("web-") and saved["file"].endswith(".md") and "/" not in saved["file"]
    path = settings.corpus_dir / saved["file"]
    assert path.is_file() and "藏书十二万册" in path.read_text(encoding="utf-8")
    assert saved["rebuild"]["state"] == "running"
    status = wait_for(lambda: (s := admin.get("/api/index/status", headers=AUTH).get_json())
                      ["state"] in ("succeeded", "failed") and s)
    assert status["state"] == "succeeded", status
    assert status["job_id"] == saved["rebuild"]["job_id"]
    assert status["summary"]["articles_added"] == 1 and status["summary"]["chunks_embedded"] >= 1
    assert status["summary"]["sentence_vectors"] is False  # the reader answers: none needed
    assert status["progress"]["chunks"]["done"] == status["progress"]["chunks"]["total"]
    # The build ran below the request threads' priority, on the configured threads.
    assert status["summary"]["niceness"] >= 10 and status["summary"]["torch_threads"] >= 1
    assert admin.get("/api/health").get_json()["generation"] == "gen-000002"
    answer = admin.post("/api/ask", json={"question": "图书馆藏书多少册?"}).get_json()
    assert "十二万册" in answer["passages"][0]["text"]
    assert answer["passages"][0]["article"]["source"] == "藁城区融媒体中心"


def test_a_service_without_the_reader_gets_sentence_vectors_from_its_rebuilds(
    settings: Settings, fake_encoder: FakeEncoder
) -> None:
    build_index(settings, fake_encoder)  # built for the reader: no sentence vectors
    client = make_app(settings, fake_encoder, ADMIN_TOKEN=TOKEN, READER=None,
                      READER_WEIGHTS="none").test_client()
    before = client.post("/api/ask", json={"question": "全区共完成厕所改造多少户?"}).get_json()
    assert "14880户" in before["answer"]["text"]  # answered all the same, sentences embedded per question
    assert client.post("/api/index/rebuild", headers=AUTH).status_code == 202
    status = wait_for(lambda: (s := client.get("/api/index/status", headers=AUTH).get_json())
                      ["state"] in ("succeeded", "failed") and s)
    assert status["state"] == "succeeded", status
    summary = status["summary"]
    assert summary["sentence_vectors"] is True and summary["sentences_embedded"] > 0
    assert summary["chunks_embedded"] == 0  # the passages' vectors are reused
    wait_for(lambda: client.get("/api/health").get_json()["generation"] == "gen-000002")
    after = client.post("/api/ask", json={"question": "全区共完成厕所改造多少户?"}).get_json()
    assert (after["found"], after["answer"]["text"]) == (before["found"], before["answer"]["text"])


def test_blank_optional_fields_are_taken_as_not_given(admin: FlaskClient, settings: Settings) -> None:
    # The spec allows any single line for source and date; white space alone means none.
    response = admin.post("/api/articles", json={**ARTICLE, "source": " ", "date": "\u3000"}, headers=AUTH)
    assert response.status_code == 201, response.get_json()
    saved = (settings.corpus_dir / response.get_json()["file"]).read_text(encoding="utf-8")
    assert "藏书十二万册" in saved and "source:" not in saved and "date:" not in saved


@pytest.mark.parametrize("body, fragment", [
    ({"text": "正文"}, "'title'"),
    ({"title": "标题"}, "'text'"),
    ({"title": "标题\n第二行", "text": "正文"}, "line breaks"),
    ({"title": "标题", "text": "正文\x00"}, "control characters"),
    ({"title": "标" * 201, "text": "正文"}, "at most 200"),
    ({"title": 5, "text": "正文"}, "'title'"),
    (["not", "an", "object"], "JSON object"),
])
def test_bad_articles_are_rejected(admin: FlaskClient, settings: Settings, body: Any, fragment: str) -> None:
    response = admin.post("/api/articles", json=body, headers=AUTH)
    assert response.status_code == 400 and fragment in response.get_json()["error"]["message"]
    assert not list(settings.corpus_dir.glob("web-*"))


def test_large_articles_are_accepted_up_to_their_own_limit(admin: FlaskClient) -> None:
    big = {"title": "长文章", "text": "项目建设进展顺利。" * 5000}  # ~45k characters, far over 16 KB
    assert admin.post("/api/articles", json=big, headers=AUTH).status_code == 201
    huge = {"title": "太长", "text": "字" * 400_000}
    assert admin.post("/api/articles", json=huge, headers=AUTH).status_code == 413


def test_rebuild_while_a_build_runs_is_409(admin: FlaskClient, settings: Settings) -> None:
    with generations.build_lock(settings.index_dir):
        response = admin.post("/api/index/rebuild", headers=AUTH)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "build_running"


def test_workers_pick_up_a_new_generation_by_themselves(admin: FlaskClient, settings: Settings,
                                                        fake_encoder: FakeEncoder) -> None:
    (settings.corpus_dir / "library.txt").write_text("图书馆\n\n新图书馆藏书十二万册。", encoding="utf-8")
    build_index(settings, fake_encoder)  # as `qa-service index` in another process would
    wait_for(lambda: admin.get("/api/health").get_json()["generation"] == "gen-000002")


def test_a_broken_new_generation_is_refused_and_the_old_one_serves(admin: FlaskClient, settings: Settings,
                                                                   fake_encoder: FakeEncoder) -> None:
    build_index(settings, fake_encoder)
    current = generations.current_generation(settings.index_dir)
    assert current == "gen-000002"
    (generations.generation_path(settings.index_dir, current) / "vectors.faiss").write_bytes(b"garbage")
    health = wait_for(lambda: (h := admin.get("/api/health").get_json()).get("reload_error") and h)
    assert health["generation"] == "gen-000001" and "gen-000002 was refused" in health["reload_error"]
    assert admin.post("/api/ask", json={"question": "厕所改造"}).status_code == 200
    build_index(settings, fake_encoder, full=True)  # a build repairs it
    wait_for(lambda: admin.get("/api/health").get_json()["generation"] == "gen-000003")
    assert "reload_error" not in admin.get("/api/health").get_json()


def test_a_job_whose_process_died_is_reported_failed(admin: FlaskClient, settings: Settings) -> None:
    import json
    import os

    from qa_service.web import jobs

    status_file = settings.index_dir / jobs.STATUS_FILE
    status_file.write_text(json.dumps({"job_id": "x", "state": "running"}), encoding="utf-8")
    assert admin.get("/api/index/status", headers=AUTH).get_json()["state"] == "running"  # just started
    old = time.time() - 60
    os.utime(status_file, (old, old))
    status = admin.get("/api/index/status", headers=AUTH).get_json()
    assert status["state"] == "failed" and "stopped before finishing" in status["error"]


def _rebuilt(admin: FlaskClient, job: dict) -> dict:
    status = wait_for(lambda: (s := admin.get("/api/index/status", headers=AUTH).get_json())
                      ["job_id"] == job["job_id"] and s["state"] in ("succeeded", "failed") and s)
    assert status["state"] == "succeeded", status
    wait_for(lambda: admin.get("/api/health").get_json()["generation"] == status["summary"]["generation"])
    return status


def _docx(text: str) -> bytes:
    import io

    import docx

    document = docx.Document()
    document.add_heading("新建体育馆开放", level=1)
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_files_are_uploaded_under_safe_names_and_answered_after_rebuild(
        admin: FlaskClient, settings: Settings) -> None:
    import io

    upload = io.BytesIO(_docx("藁城区新建体育馆今天开放，可容纳观众六千人。"))
    data = {"file": [(upload, "../../体育馆 通知.docx")]}
    response = admin.post("/api/articles?rebuild=1", data=data, headers=AUTH,
                          content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    saved = response.get_json()
    name = saved["files"][0]
    assert name.startswith("upload-") and name.endswith("-体育馆_通知.docx") and "/" not in name
    assert (settings.corpus_dir / name).is_file()
    _rebuilt(admin, saved["rebuild"])
    listed = admin.get("/api/articles?per_page=100").get_json()["articles"]
    [uploaded] = [a for a in listed if a["file"] == name]
    assert uploaded["format"] == "docx" and uploaded["title"] == "新建体育馆开放"
    answer = admin.post("/api/ask", json={"question": "体育馆可容纳多少观众?"}).get_json()
    assert "六千人" in answer["passages"][0]["text"]


@pytest.mark.parametrize(("name", "content", "fragment"), [
    ("notes.exe", b"MZ", "unsupported file type"),
    ("fake.pdf", b"hello, not a pdf", "not a .pdf file"),
    ("empty.docx", b"", "empty"),
])
def test_bad_uploads_are_refused_with_a_reason(admin: FlaskClient, settings: Settings, name: str,
                                               content: bytes, fragment: str) -> None:
    import io

    before = sorted(p.name for p in settings.corpus_dir.iterdir())
    response = admin.post("/api/articles", data={"file": [(io.BytesIO(content), name)]}, headers=AUTH,
                          content_type="multipart/form-data")
    assert response.status_code == 400 and fragment in response.get_json()["error"]["message"]
    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == before  # nothing half-written


def test_delete_removes_a_file_of_one_article_and_excludes_one_of_several(
        admin: FlaskClient, settings: Settings) -> None:
    listed = admin.get("/api/articles?per_page=100").get_json()["articles"]
    by_file: dict[str, list[dict]] = {}
    for article in listed:
        by_file.setdefault(article["file"], []).append(article)
    single = next(a for f, group in by_file.items() if len(group) == 1 for a in group)
    shared = next(group[0] for group in by_file.values() if len(group) > 1)
    assert admin.delete(f"/api/articles/{single['id']}").status_code == 401  # admin-only
    gone = admin.delete(f"/api/articles/{single['id']}", headers=AUTH).get_json()
    assert gone["removed_file"] == single["file"] and not (settings.corpus_dir / single["file"]).exists()
    left_out = admin.delete(f"/api/articles/{shared['id']}?rebuild=1", headers=AUTH).get_json()
    assert left_out["excluded"] and (settings.corpus_dir / shared["file"]).is_file()  # the others stay
    status = _rebuilt(admin, left_out["rebuild"])
    assert status["summary"]["articles_removed"] == 2
    ids = {a["id"] for a in admin.get("/api/articles?per_page=100").get_json()["articles"]}
    assert single["id"] not in ids and shared["id"] not in ids and len(ids) == len(listed) - 2
    assert admin.delete(f"/api/articles/{single['id']}", headers=AUTH).status_code == 404


def test_put_replaces_text_or_metadata_and_only_that_is_embedded_again(
        admin: FlaskClient, settings: Settings) -> None:
    article = admin.get("/api/articles?per_page=100").get_json()["articles"][0]
    response = admin.put(f"/api/articles/{article['id']}?rebuild=1", headers=AUTH,
                         json={"title": "改过的标题", "date": "2021-12-31", "source": "石家庄日报"})
    assert response.status_code == 200
    status = _rebuilt(admin, response.get_json()["rebuild"])
    changed = admin.get(f"/api/articles/{article['id']}").get_json()  # the same id
    assert changed["title"] == "改过的标题"
    assert (changed["date"], changed["source"]) == ("2021-12-31", "石家庄日报")
    assert changed["date_source"] == "edit"
    assert status["summary"]["articles_changed"] == 1  # the title is part of what is embedded
    response = admin.put(f"/api/articles/{article['id']}?rebuild=1", headers=AUTH,
                         json={"text": "全区新建停车场十二处，新增车位三千个。"})
    status = _rebuilt(admin, response.get_json()["rebuild"])
    assert status["summary"]["articles_changed"] == 1 and status["summary"]["articles_reused"] >= 1
    changed = admin.get(f"/api/articles/{article['id']}").get_json()
    assert changed["text"] == "全区新建停车场十二处，新增车位三千个。" and changed["title"] == "改过的标题"
    for bad in ({}, {"colour": "red"}, {"title": ""}, {"text": 5}):
        assert admin.put(f"/api/articles/{article['id']}", headers=AUTH, json=bad).status_code == 400
    assert admin.put("/api/articles/0000000000000000", headers=AUTH, json={"title": "x"}).status_code == 404
