"""Reading files into articles: decoding, front matter, layout repair, article splitting,
chunking with exact character offsets, and the text normalisation that indexing and
questions share. The bottom layer: it imports nothing else of qa_service."""

from .atomic import atomic_write_bytes, atomic_write_text
from .chunking import (
    Chunk,
    ChunkingSettings,
    chunk_article,
    embedding_text,
    sentence_units,
    split_sentences,
)
from .edits import EDITS_FILE, forget_edit, load_edits, record_edit
from .examples import EXAMPLES_FILE, read_example_questions
from .ingest import (
    CORPUS_SUFFIXES,
    MAX_DOCUMENT_BYTES,
    Article,
    CorpusReadResult,
    Paragraph,
    SkippedFile,
    UndecodableFile,
    decode_bytes,
    parse_document,
    read_corpus,
    repair_fragments,
)
from .normalize import SCHEMA_WHITESPACE, is_blank, normalize_text

__all__ = [
    "CORPUS_SUFFIXES",
    "EDITS_FILE",
    "EXAMPLES_FILE",
    "MAX_DOCUMENT_BYTES",
    "SCHEMA_WHITESPACE",
    "Article",
    "Chunk",
    "ChunkingSettings",
    "CorpusReadResult",
    "Paragraph",
    "SkippedFile",
    "UndecodableFile",
    "atomic_write_bytes",
    "atomic_write_text",
    "chunk_article",
    "decode_bytes",
    "embedding_text",
    "forget_edit",
    "is_blank",
    "load_edits",
    "normalize_text",
    "parse_document",
    "read_corpus",
    "read_example_questions",
    "record_edit",
    "repair_fragments",
    "sentence_units",
    "split_sentences",
]
