"""Rate limits on the public endpoints: per client address, counted across workers.

``/api/ask`` (``QA_RATE_LIMIT``) and ``POST /api/feedback`` (``QA_FEEDBACK_RATE_LIMIT``)
are limited per client address with Flask-Limiter; an exceeded limit is a 429 with the
API's JSON error and ``Retry-After``. The address is the connection's, unless it is one
of ``QA_TRUSTED_PROXIES`` (a comma-separated list of proxy addresses): then the nearest
``X-Forwarded-For`` entry that is not a trusted proxy. A client cannot pick its own
address by sending the header to a server that does not sit behind a proxy.

Flask-Limiter keeps its counts in a `limits` storage. Its in-memory storage counts per
process, so each gunicorn worker would allow the whole limit again; its shared storages
(Redis, Memcached) need a server. This one keeps fixed-window counters in one SQLite
file (WAL mode; each increment is one short write transaction), which every worker of a
server opens: ``sqlite:///path/to/ratelimit.sqlite3``. Servers on several machines share
their counts only through a network storage such as ``redis://``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from limits.storage import Storage

SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS counters_by_expiry ON counters(expires);
"""


def _use_wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch the file to WAL (it stays so) unless it is already.

    Switching needs the file to itself, and SQLite answers "database is locked" at once,
    without its busy wait, while another process does the same: gunicorn workers starting
    together. So the switch is tried again for up to about five seconds.
    """
    for attempt in range(attempts):
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


class SQLiteStorage(Storage):
    """Fixed-window counters (the strategy Flask-Limiter uses by default) in SQLite."""

    STORAGE_SCHEME = ["sqlite"]  # noqa: RUF012 (the registry `limits` reads, as its storages declare it)

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = Path(uri.removeprefix("sqlite://") or "ratelimit.sqlite3")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conn().executescript(SCHEMA)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit; transactions are opened explicitly (BEGIN IMMEDIATE) where needed.
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            _use_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")  # a count lost in a power cut is no loss
            self._local.conn = conn
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")  # one writer at a time: no lost increments
        try:
            # Every window that has ended goes, this key's and any other's (the table stays small).
            conn.execute("DELETE FROM counters WHERE expires <= ?", (now,))
            conn.execute("INSERT INTO counters VALUES (?, ?, ?) ON CONFLICT(key)"
                         " DO UPDATE SET count = count + ?", (key, amount, now + expiry, amount))
            count = conn.execute("SELECT count FROM counters WHERE key = ?", (key,)).fetchone()[0]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return int(count)

    def get(self, key: str) -> int:
        row = self._conn().execute("SELECT count FROM counters WHERE key = ? AND expires > ?",
                                   (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._conn().execute("SELECT expires FROM counters WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._conn().execute("SELECT 1")
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._conn().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._conn().execute("DELETE FROM counters WHERE key = ?", (key,))


def client_address(remote_addr: str | None, forwarded_for: str | None, trusted: frozenset[str]) -> str:
    """The client's address: the connection's, or behind trusted proxies the nearest
    X-Forwarded-For entry that is not one of them."""
    address = remote_addr or "unknown"
    if address not in trusted or not forwarded_for:
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if hop not in trusted:
            return hop
    return address


def trusted_proxies(value: object) -> frozenset[str]:
    if isinstance(value, list | tuple):
        return frozenset(str(v).strip() for v in value if str(v).strip())
    return frozenset(v.strip() for v in str(value or "").split(",") if v.strip())
