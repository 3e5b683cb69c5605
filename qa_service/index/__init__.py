"""Building and loading an index generation: the build pipeline with incremental reuse
and a resumable embedding cache, progress, the FAISS vector index, the BM25 lexical
index, the SQLite chunk store, generation folders with their manifest, and loading a
generation with its checks. Imports ``corpus``, ``models`` and ``config`` only."""

from ..corpus import atomic_write_text
from . import generations
from .build import BuildError, BuildSummary, build_index, check_build_settings
from .chunk_store import ChunkStore, SentenceSpan, StoredChunk
from .embedding_cache import CACHE_DIR, EmbeddingCache
from .generations import BuildLockedError, build_is_running, current_generation
from .lexical import LexicalIndex, tokenize
from .load import IndexMismatchError, IndexNotReadyError, LoadedIndex, check_model, load_index
from .manifest import FORMAT_VERSION
from .progress import PhaseClock, format_seconds, log_progress
from .vector_index import FaissVectorIndex, build_vector_index, choose_kind, ivf_lists, load_vector_index

__all__ = [
    "CACHE_DIR",
    "FORMAT_VERSION",
    "BuildError",
    "BuildLockedError",
    "BuildSummary",
    "ChunkStore",
    "EmbeddingCache",
    "FaissVectorIndex",
    "IndexMismatchError",
    "IndexNotReadyError",
    "LexicalIndex",
    "LoadedIndex",
    "PhaseClock",
    "SentenceSpan",
    "StoredChunk",
    "atomic_write_text",
    "build_index",
    "build_is_running",
    "build_vector_index",
    "check_build_settings",
    "check_model",
    "choose_kind",
    "current_generation",
    "format_seconds",
    "generations",
    "ivf_lists",
    "load_index",
    "load_vector_index",
    "log_progress",
    "tokenize",
]
