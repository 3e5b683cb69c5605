"""Hostile input for the API, the CLI and the corpus: a clear 4xx or a normal answer,
never a crash; every corpus file indexed or reported by name; nothing served is lost."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

from qa_service.config import Settings
from qa_service.index import build_index, generations, load_index
from qa_service.web import create_app

from .conftest import FakeEncoder, FakeReader


@pytest.fixture
def client(settings: Settings, fake_encoder: FakeEncoder) -> FlaskClient:
    build_index(settings, fake_encoder)
    app = create_app({"INDEX_DIR": str(settings.index_dir), "ENCODER": fake_encoder, "READER": FakeReader(),
                      "MODEL": fake_encoder.name, "TESTING": True, "RELOAD_SECONDS": 0})
    return app.test_client()


NASTY_BODIES: list[tuple[str, bytes]] = [
    ("10,000-character question", json.dumps({"question": "问" * 10_000}).encode()),
    ("only punctuation", json.dumps({"question": "。，、？！…—“”《》"}).encode()),
    ("only emoji", json.dumps({"question": "😀😃😄😁🎉"}).encode()),
    ("NUL and control characters", json.dumps({"question": "厕所\x00改造\x07\x1b[2J多少户"}).encode()),
    ("invalid UTF-8", b'{"question": "\xff\xfe\xfd \xc3\x28"}'),
    ("mixed scripts", json.dumps({"question": "Gaocheng 藁城区 厕所 туалет トイレ 14880"}).encode()),
    ("deeply nested list", b"[" * 8000 + b"]" * 8000),
    ("deeply nested object", b'{"question": ' * 1000 + b'"x"' + b"}" * 1000),
    ("duplicated keys", b'{"question": 1, "question": "\\u5395\\u6240\\u6539\\u9020"}'),
    ("top_k as a string", json.dumps({"question": "厕所", "top_k": "5"}).encode()),
    ("top_k 1e9", b'{"question": "\\u5395\\u6240", "top_k": 1e9}'),
    ("top_k -1", json.dumps({"question": "厕所", "top_k": -1}).encode()),
    ("top_k NaN", b'{"question": "x", "top_k": NaN}'),
    ("huge integer", b'{"question": "x", "top_k": ' + b"9" * 4000 + b"}"),
    ("not JSON", b"question=\xe5\x8e\x95\xe6\x89\x80"),
    ("empty body", b""),
    ("JSON null", b"null"),
]


@pytest.mark.parametrize("name, body", NASTY_BODIES, ids=[n for n, _ in NASTY_BODIES])
def test_nasty_requests_get_a_clear_answer(client: FlaskClient, name: str, body: bytes) -> None:
    response = client.post("/api/ask", data=body, content_type="application/json")
    text = response.get_data(as_text=True)
    assert response.status_code in (200, 400, 413), (name, response.status_code, text[:200])
    assert response.is_json and "Traceback" not in text and 'File "' not in text
    payload: Any = response.get_json()
    if response.status_code == 200:
        assert set(payload) >= {"found", "passages", "answer"}
    else:
        assert payload["error"]["message"]


def test_content_length_lies_are_refused_before_reading(client: FlaskClient) -> None:
    response = client.post("/api/ask", data=b'{"question": "x"}', content_type="application/json",
                           environ_overrides={"CONTENT_LENGTH": str(10**12)})
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "body_too_large"


def test_hostile_corpus_files_are_indexed_or_reported(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("秘密文件。", encoding="utf-8")
    good = "标题\n\n正文第一句。正文第二句。\n"
    files: dict[str, bytes] = {
        "binary.txt": bytes(range(256)) * 64,
        "huge.txt": b"a" * (21 * 1024 * 1024),
        "one-line.txt": ("很长的一行文字,没有换行" * 200_000).encode(),  # 2.4 million characters
        "gb18030 稀有字.txt": "生僻字\n\n𠀀𪚥䶮都在这里。\n".encode("gb18030"),
        "crlf.txt": good.replace("\n", "\r\n").encode(),
        "mixed encodings.txt": "前半部分是UTF-8。".encode() + "后半部分是GBK编码。".encode("gbk"),
        "名字 有 空格.md": good.encode(),
        "empty.txt": b"",
    }
    for name, data in files.items():
        (corpus / name).write_bytes(data)
    (corpus / "link.txt").symlink_to(outside)
    summary = build_index(Settings(corpus_dir=corpus, index_dir=tmp_path / "idx"), fake_encoder)
    skipped = {s["source"]: s["reason"] for s in summary.skipped_files}
    assert set(skipped) == {"binary.txt", "huge.txt", "empty.txt", "link.txt"}
    assert "larger than 20 MB" in skipped["huge.txt"] and "outside" in skipped["link.txt"]
    assert summary.files + len(skipped) == len(files) + 1  # every file accounted for
    store = load_index(tmp_path / "idx").store
    sources = {a["source"] for a in store.list_articles(0, 100)}
    expected = {"one-line.txt", "gb18030 稀有字.txt", "crlf.txt", "mixed encodings.txt", "名字 有 空格.md"}
    assert expected <= sources
    texts = {a["source"]: store.get_article(a["id"]).text for a in store.list_articles(0, 100)}  # type: ignore[union-attr]
    assert "𠀀𪚥䶮" in texts["gb18030 稀有字.txt"]
    assert "秘密" not in "".join(texts.values())
    assert len(texts["one-line.txt"]) == len(files["one-line.txt"].decode())


def test_disk_full_during_a_build_fails_clearly_and_keeps_serving(
    settings: Settings, fake_encoder: FakeEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index(settings, fake_encoder)
    (settings.corpus_dir / "new.txt").write_text("新文章\n\n新增内容。", encoding="utf-8")

    def no_space(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", no_space)
    with pytest.raises(OSError, match="No space left"):
        build_index(settings, fake_encoder)
    monkeypatch.undo()
    assert load_index(settings.index_dir).generation == "gen-000001"
    assert generations.current_generation(settings.index_dir) == "gen-000001"
    assert not list((settings.index_dir / "generations").glob(".staging-*"))


def test_cli_reports_a_full_disk_in_one_line(settings: Settings, fake_encoder: FakeEncoder,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from qa_service import cli, models

    monkeypatch.setattr(models, "load_encoder", lambda config, questions=True: fake_encoder)
    def no_space(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", no_space)
    result = CliRunner().invoke(cli.main, ["index", "--corpus", str(settings.corpus_dir),
                                           "--index-dir", str(settings.index_dir)])
    assert result.exit_code == 1
    assert result.output.strip().startswith("qa-service: ") and "No space left" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("question", ["\x00\x01\x02", "😀", "问" * 10_000, "' OR 1=1; --"])
def test_cli_ask_survives_nasty_questions(settings: Settings, fake_encoder: FakeEncoder,
                                          monkeypatch: pytest.MonkeyPatch, question: str) -> None:
    from click.testing import CliRunner

    from qa_service import answering, cli, models
    from qa_service.answering import ReaderSettings

    build_index(settings, fake_encoder)
    monkeypatch.setattr(models, "load_encoder", lambda config, questions=True: fake_encoder)
    monkeypatch.setattr(answering, "load_configured_reader",
                        lambda weights, cache, precision, threads=0: (FakeReader(), ReaderSettings()))
    result = CliRunner().invoke(cli.main, ["ask", question, "--json", "--index-dir", str(settings.index_dir)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["question"] == question
