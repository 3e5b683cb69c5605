"""Reading files into articles: decoding, front matter, layout repair, article splitting,
chunking with exact character offsets, and the text normalisation that indexing and
questions share. The bottom layer: it imports nothing else of qa_service."""

from .chunking import (
    Chunk,
    ChunkingSettings,
    chunk_article,
    embedding_text,
    sentence_units,
    split_sentences,
)
from .examples import EXAMPLES_FILE, read_example_questions
from .ingest import (
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
    "EXAMPLES_FILE",
    "SCHEMA_WHITESPACE",
    "Article",
    "Chunk",
    "ChunkingSettings",
    "CorpusReadResult",
    "Paragraph",
    "SkippedFile",
    "UndecodableFile",
    "chunk_article",
    "decode_bytes",
    "embedding_text",
    "is_blank",
    "normalize_text",
    "parse_document",
    "read_corpus",
    "read_example_questions",
    "repair_fragments",
    "sentence_units",
    "split_sentences",
]
