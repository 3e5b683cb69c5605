"""What one server process holds: the encoder and the retriever over the served index.

Created by the app factory and kept in ``app.extensions["qa"]``. The app starts even
without an index (health then says what to run) and picks the index up once it exists,
without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .encoder import Encoder, EncoderError, load_encoder
from .index_load import IndexMismatchError, IndexNotReadyError, load_index
from .retrieval import Retriever

log = logging.getLogger(__name__)
RETRY_SECONDS = 5.0


@dataclass
class ServiceState:
    index_dir: Path
    model: str
    model_cache: Path
    encoder: Encoder | None = None
    retriever: Retriever | None = None
    error: str | None = None
    started_at: float = field(default_factory=time.time)
    _last_attempt: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self) -> None:
        """Load the model (once) and the current index; remember why if that fails."""
        with self._lock:
            self._last_attempt = time.monotonic()
            try:
                index = load_index(self.index_dir)
                if self.encoder is None:
                    self.encoder = load_encoder(self.model, self.model_cache)
                self.retriever = Retriever(index, self.encoder)
                self.error = None
                log.info("serving index %s (%s chunks) with model %s", index.generation,
                         index.manifest["counts"]["chunks"], self.model)
            except (IndexNotReadyError, IndexMismatchError, EncoderError) as exc:
                self.retriever = None
                self.error = str(exc)
                log.warning("not ready: %s", exc)

    def current(self) -> Retriever | None:
        """The retriever, retrying a failed load at most every few seconds."""
        retriever = self.retriever
        if retriever is None and time.monotonic() - self._last_attempt > RETRY_SECONDS:
            self.load()
            retriever = self.retriever
        return retriever

    def health(self) -> dict:
        retriever = self.current()
        body: dict = {
            "status": "ok" if retriever else "not_ready",
            "ready": retriever is not None,
            "model": self.model,
            "uptime_s": round(time.time() - self.started_at, 1),
        }
        if retriever is None:
            body["message"] = self.error
            body["fix"] = "qa-service index  (或 make index)"
            return body
        manifest = retriever.index.manifest
        body.update({
            "generation": retriever.index.generation,
            "built_at": manifest["built_at"],
            "counts": {k: manifest["counts"][k] for k in ("files", "articles", "chunks")},
        })
        return body
