"""Rate limits on asking: per client, counted across worker processes, proxies trusted only when named."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from flask import Flask

from qa_service.config import Settings
from qa_service.index import build_index
from qa_service.web import create_app
from qa_service.web.ratelimit import SQLiteStorage, client_address

from ..conftest import FakeEncoder, FakeReader

QUESTION = {"question": "全区共完成厕所改造多少户?"}


def make_app(settings: Settings, encoder: FakeEncoder, **config: object) -> Flask:
    if not (settings.index_dir / "CURRENT").exists():
        build_index(settings, encoder)
    return create_app({"INDEX_DIR": str(settings.index_dir), "CORPUS_DIR": str(settings.corpus_dir),
                       "ENCODER": encoder, "READER": FakeReader(), "TESTING": True, "RELOAD_SECONDS": 0,
                       **config})


def test_asking_too_often_is_a_429_with_the_json_error_and_retry_after(
        settings: Settings, fake_encoder: FakeEncoder) -> None:
    client = make_app(settings, fake_encoder, RATE_LIMIT="3 per minute").test_client()
    codes = [client.post("/api/ask", json=QUESTION).status_code for _ in range(3)]
    limited = client.post("/api/ask", json=QUESTION)
    assert codes == [200, 200, 200] and limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert client.get("/api/health").status_code == 200  # reading the rest is not limited


def test_two_workers_share_one_count(settings: Settings, fake_encoder: FakeEncoder, tmp_path: Path) -> None:
    shared = {"RATE_LIMIT": "3 per minute", "RATELIMIT_STORAGE_URI": f"sqlite://{tmp_path}/limits.sqlite3"}
    first = make_app(settings, fake_encoder, **shared).test_client()
    second = make_app(settings, fake_encoder, **shared).test_client()
    codes = [c.post("/api/ask", json=QUESTION).status_code for c in (first, second, first, second)]
    assert codes == [200, 200, 200, 429]


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(settings: Settings,
                                                                fake_encoder: FakeEncoder) -> None:
    def asks(client: object) -> list[int]:
        return [client.post("/api/ask", json=QUESTION,  # type: ignore[attr-defined]
                            headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(3)]

    # Not behind a proxy: the header is the client's to forge, so it is ignored.
    assert asks(make_app(settings, fake_encoder, RATE_LIMIT="2 per minute").test_client()) == [200, 200, 429]
    # Behind a trusted proxy (the test client's address): each forwarded client has its own count.
    proxied = make_app(settings, fake_encoder, RATE_LIMIT="2 per minute", TRUSTED_PROXIES="127.0.0.1")
    assert asks(proxied.test_client()) == [200, 200, 200]


def test_the_client_is_the_nearest_untrusted_hop() -> None:
    trusted = frozenset({"10.0.0.1", "10.0.0.2"})
    assert client_address("198.51.100.7", "1.2.3.4", trusted) == "198.51.100.7"
    assert client_address("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2", trusted) == "1.2.3.4"
    assert client_address("10.0.0.1", None, trusted) == "10.0.0.1"


def _hammer(path: str, times: int) -> None:
    storage = SQLiteStorage(f"sqlite://{path}")
    for _ in range(times):
        storage.incr("k", 60)


def test_concurrent_processes_lose_no_increment(tmp_path: Path) -> None:
    path = str(tmp_path / "counts.sqlite3")
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_hammer, args=(path, 150)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    storage = SQLiteStorage(f"sqlite://{path}")
    assert storage.get("k") == 450 and storage.get_expiry("k") > 0
    storage.clear("k")
    assert storage.get("k") == 0 and storage.incr("k", 1) == 1
