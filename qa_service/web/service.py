"""What one server process holds: the encoder and the retriever over the served index.

Created by the app factory and kept in ``app.extensions["qa"]``. The app starts even
without an index (health then says what to run). A watcher thread notices a new
generation (the CURRENT pointer changed), loads it beside the old one and swaps it in
when ready: requests never wait for a load, and a generation that fails to load is
refused while the old one keeps serving.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..answering import ReaderSettings, Retriever, TimeParser, load_configured_reader
from ..index import IndexMismatchError, IndexNotReadyError, current_generation, load_index
from ..models import (
    QUESTION_THREADS,
    Encoder,
    EncoderError,
    PassageReader,
    ReaderError,
    load_encoder,
    resolve_threads,
    use_threads,
)

log = logging.getLogger(__name__)
RETRY_SECONDS = 5.0
LOAD_ERRORS = (IndexNotReadyError, IndexMismatchError, EncoderError, ReaderError)


@dataclass
class ServiceState:
    index_dir: Path
    model: str
    model_cache: Path
    precision: str = "auto"
    # QA_TORCH_THREADS: of web-started builds, and the most a read takes; a request's
    # question is encoded on QUESTION_THREADS.
    torch_threads: int = 0
    reader_weights: str = "builtin"  # QA_READER_WEIGHTS: builtin, a file, or none
    encoder: Encoder | None = None
    reader: PassageReader | None = None
    reader_settings: ReaderSettings = field(default_factory=ReaderSettings)
    _reader_loaded: bool = False
    retriever: Retriever | None = None
    error: str | None = None  # why nothing is served
    reload_error: str | None = None  # why a newer generation was refused
    started_at: float = field(default_factory=time.time)
    _refused: str | None = None
    time_parser: TimeParser = field(default_factory=TimeParser)  # one per process, kept across generations
    _last_attempt: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _load_retriever(self) -> Retriever:
        index = load_index(self.index_dir)
        if self.encoder is None:
            self.encoder = load_encoder(self)
        if not self._reader_loaded:
            # Once per process, like the encoder: every generation is read by the same reader.
            self.reader, self.reader_settings = load_configured_reader(
                self.reader_weights, self.model_cache, self.precision, self.torch_threads)
            self._reader_loaded = True
        if index.has_dates:  # jionlp loads in half a second: here, not in the first question
            self.time_parser.warm()
        return Retriever(index, self.encoder, reader=self.reader, reader_settings=self.reader_settings,
                         time_parser=self.time_parser)

    def use_reader(self, reader: PassageReader | None) -> None:
        """Answer with this reader (a test's fake, or None) instead of loading the configured one."""
        self.reader, self._reader_loaded = reader, True

    def load(self) -> None:
        """Load the current generation; on failure keep serving what is served."""
        with self._lock:
            self._last_attempt = time.monotonic()
            wanted = current_generation(self.index_dir)
            try:
                retriever = self._load_retriever()
            except LOAD_ERRORS as exc:
                self._refused = wanted  # the watcher leaves it be; requests retry (current)
                if self.retriever is None:
                    self.error = str(exc)
                    log.warning("not ready: %s", exc)
                else:
                    self.reload_error = f"generation {wanted} was refused, still serving " \
                                        f"{self.retriever.index.generation}: {exc}"
                    log.error("%s", self.reload_error)
                return
            # One assignment: requests already running keep the retriever they took.
            self.retriever = retriever
            self.error = self.reload_error = self._refused = None
            log.info("pid %s serving index %s (%s chunks) with model %s", os.getpid(),
                     retriever.index.generation, retriever.index.manifest["counts"]["chunks"], self.model)
            if self.reader is None and retriever.index.sentence_vectors is None:
                log.warning("index %s was built for the reader, without sentence vectors: answering "
                            "without the reader embeds them with each question (several times slower); "
                            "a rebuild by this service adds them", retriever.index.generation)

    def refresh(self) -> None:
        """Load the generation CURRENT points at, if it is new (and not already refused)."""
        wanted = current_generation(self.index_dir)
        served = self.retriever.index.generation if self.retriever else None
        if wanted is not None and wanted != served and wanted != self._refused:
            self.load()

    def start_watcher(self, interval: float) -> threading.Thread:
        def watch() -> None:
            while True:
                time.sleep(interval)
                try:
                    self.refresh()
                except Exception:  # the watcher must outlive any one bad generation
                    log.exception("checking for a new index generation failed")

        thread = threading.Thread(target=watch, name="qa-index-watcher", daemon=True)
        thread.start()
        return thread

    def current(self) -> Retriever | None:
        """The retriever, retrying a failed first load at most every few seconds.

        Called by each request in its own thread, which it keeps at QUESTION_THREADS torch
        threads: a rebuild that set more in its thread would otherwise hand its count to
        request threads that start later.
        """
        use_threads(QUESTION_THREADS)
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
            "reader": self.reader_weights if self.reader is not None else None,
            # onnxruntime or torch (models/onnx_queries.py); None until the model is loaded.
            "query_runtime": getattr(self.encoder, "query_runtime", None),
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started_at, 1),
            "threads": {"question": QUESTION_THREADS, "reader": getattr(self.reader, "threads", None),
                        "build": resolve_threads(self.torch_threads),
                        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                        "gomp_spincount": os.environ.get("GOMP_SPINCOUNT")},
        }
        if self.reload_error:
            body["reload_error"] = self.reload_error
        if retriever is None:
            body["message"] = self.error
            body["fix"] = "qa-service index  (或 make index)"
            return body
        manifest = retriever.index.manifest
        body.update({
            "generation": retriever.index.generation,
            "built_at": manifest["built_at"],
            "counts": {k: manifest["counts"][k] for k in ("files", "articles", "chunks")},
            "examples": manifest.get("examples", []),
        })
        return body
