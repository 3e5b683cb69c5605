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
from .dates import DATE_SOURCES, STATED_DATE_SOURCES, date_range, normalise_date
from .edits import EDITS_FILE, forget_edit, load_edits, record_edit
from .examples import EXAMPLES_FILE, read_example_questions
from .extraction import RemoteReader
from .formats import Extracted, UnreadableFile
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
)
from .layout import repair_fragments
from .normalize import SCHEMA_WHITESPACE, is_blank, normalize_text
from .notes import ArticleNotes, notes_of
from .sandbox import SandboxedReader
from .vocabulary import VOCABULARY_FILE, Vocabulary, read_vocabulary, vocabulary_of

__all__ = [
    "CORPUS_SUFFIXES",
    "DATE_SOURCES",
    "EDITS_FILE",
    "EXAMPLES_FILE",
    "MAX_DOCUMENT_BYTES",
    "SCHEMA_WHITESPACE",
    "STATED_DATE_SOURCES",
    "VOCABULARY_FILE",
    "Article",
    "ArticleNotes",
    "Chunk",
    "ChunkingSettings",
    "CorpusReadResult",
    "Extracted",
    "Paragraph",
    "RemoteReader",
    "SandboxedReader",
    "SkippedFile",
    "UndecodableFile",
    "UnreadableFile",
    "Vocabulary",
    "atomic_write_bytes",
    "atomic_write_text",
    "chunk_article",
    "date_range",
    "decode_bytes",
    "embedding_text",
    "forget_edit",
    "is_blank",
    "load_edits",
    "normalise_date",
    "normalize_text",
    "notes_of",
    "parse_document",
    "read_corpus",
    "read_example_questions",
    "read_vocabulary",
    "record_edit",
    "repair_fragments",
    "sentence_units",
    "split_sentences",
    "vocabulary_of",
]
