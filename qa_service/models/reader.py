"""The reader: reads a question together with a passage and points at the exact answer.

A span-extraction model on multilingual-e5-small's transformer: a start/end head over
the passage's tokens and a has-answer head on the first token. The embeddings (and any
layers below those trained) stay the retrieval model's, frozen while training, so the
shipped weights file holds only the layers that were trained and the heads, in fp16.

Passages longer than one window are read in overlapping windows; a span never leaves
the passage, and its character offsets are the tokenizer's, so the answer is always a
verbatim slice of the passage.
"""

from __future__ import annotations

import json
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .span_edges import SpanEdges, SpanEdgesError, load_span_edges
from .threads import available_cores, idle_cores, use_threads

READER_FORMAT = 1
# The shipped weights (package data), trained by training/train_reader.py.
READER_WEIGHTS = Path(__file__).with_name("reader.safetensors")
MAX_LENGTH = 384  # tokens per window: question, passage and three special tokens
DOC_STRIDE = 128  # tokens two windows of one passage share
MAX_ANSWER_TOKENS = 48  # a list of several items fits; longer spans are not answers
MAX_QUESTION_TOKENS = 64  # a longer question is cut: the passage must keep most of the window


class ReaderError(RuntimeError):
    """The reader's weights are missing, damaged or do not fit the base model."""


@dataclass(frozen=True)
class Span:
    """The best answer the reader found in one passage."""

    passage: int  # index into the passages it was given
    char_start: int  # offsets into that passage's text
    char_end: int
    score: float  # start + end logit of the span
    has_answer: float  # probability the passage answers the question (the has-answer head)

    def text(self, passages: Sequence[str]) -> str:
        return passages[self.passage][self.char_start : self.char_end]


class PassageReader(Protocol):
    """What answering needs of a reader: the best span of each passage for a question."""

    def read(self, question: str, passages: Sequence[str]) -> list[Span | None]: ...

    def read_pairs(self, questions: Sequence[str], passages: Sequence[str]) -> list[Span | None]:
        """Each passage with its own wording of the question (the official vocabulary's)."""
        ...


def build_model(base_dir: Path, trained_layers: int) -> Any:
    """The reader module on the base model in ``base_dir``; only the top layers train."""
    import torch
    from transformers import AutoModel

    class SpanReader(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(base_dir), add_pooling_layer=False)
            hidden = self.bert.config.hidden_size
            self.span = torch.nn.Linear(hidden, 2)
            self.has_answer = torch.nn.Linear(hidden, 1)
            self.trained_layers = trained_layers
            frozen = self.bert.config.num_hidden_layers - trained_layers
            for name, param in self.bert.named_parameters():
                param.requires_grad = name.startswith("encoder.layer.") and int(name.split(".")[2]) >= frozen

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any, Any]:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            start, end = self.span(hidden).unbind(-1)
            return start, end, self.has_answer(hidden[:, 0]).squeeze(-1)

    return SpanReader()


def trained_state(model: Any) -> dict[str, Any]:
    """The parameters that differ from the base model: trained layers and heads."""
    return {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}


def save_weights(model: Any, path: Path, card: dict[str, Any]) -> None:
    """fp16 safetensors of the trained parameters, with the metadata that loading checks."""
    import os

    import torch
    from safetensors.torch import save_file

    tensors = {name: t.to(torch.float16).contiguous() for name, t in trained_state(model).items()}
    meta = {"format": str(READER_FORMAT), "trained_layers": str(model.trained_layers),
            "card": json.dumps(card, ensure_ascii=False)}
    partial = path.with_name(path.name + ".partial")
    save_file(tensors, str(partial), metadata=meta)
    os.replace(partial, path)


def load_model(base_dir: Path, weights: Path) -> tuple[Any, dict[str, Any]]:
    """The reader with its shipped weights, and their card; a missing or damaged file is a
    ReaderError."""
    import torch
    from safetensors import safe_open

    try:
        with safe_open(str(weights), framework="pt") as handle:
            meta = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except FileNotFoundError as exc:
        raise ReaderError(f"reader weights {weights} are missing: reinstall qa-service "
                          "or run `make train-reader`") from exc
    except Exception as exc:  # safetensors raises its own errors for truncated files
        raise ReaderError(f"reader weights {weights} cannot be read ({exc}): reinstall qa-service "
                          "or run `make train-reader`") from exc
    if meta.get("format") != str(READER_FORMAT):
        raise ReaderError(f"reader weights {weights} have format {meta.get('format')}, "
                          f"this version reads {READER_FORMAT}")
    from transformers.utils import logging as hf_logging

    # The base checkpoint's pooler is not used by the reader: no load report for it.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        model = build_model(base_dir, int(meta["trained_layers"]))
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    expected = set(trained_state(model))
    if set(tensors) != expected:
        raise ReaderError(f"reader weights {weights} do not fit the base model "
                          f"({len(set(tensors) ^ expected)} tensors differ)")
    own = dict(model.named_parameters())
    with torch.no_grad():
        for name, tensor in tensors.items():
            if own[name].shape != tensor.shape:
                raise ReaderError(f"reader weights {weights}: {name} has shape {tuple(tensor.shape)}, "
                                  f"the model {tuple(own[name].shape)}")
            own[name].copy_(tensor.to(torch.float32))
    model.eval()
    return model, json.loads(meta.get("card", "{}"))


def encode_windows(tokenizer: Any, questions: Sequence[str], passages: Sequence[str],
                   max_length: int = MAX_LENGTH, stride: int = DOC_STRIDE) -> dict[str, Any]:
    """Question/passage pairs as windows of tokens, each mapped back to its pair.

    ``overflow_to_sample_mapping`` says which pair a window belongs to; ``offset_mapping``
    has the passage's character offsets for passage tokens and None elsewhere.
    """
    encoded = tokenizer(list(questions), list(passages), truncation="only_second", max_length=max_length,
                        stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                        padding="longest", return_tensors="np")
    offsets = []
    for i in range(len(encoded["input_ids"])):
        sequence = encoded.sequence_ids(i)
        offsets.append([tuple(o) if sequence[k] == 1 else None
                        for k, o in enumerate(encoded["offset_mapping"][i])])
    encoded["offset_mapping"] = offsets
    return encoded


def best_span(start: np.ndarray, end: np.ndarray, offsets: list[tuple[int, int] | None],
              max_tokens: int = MAX_ANSWER_TOKENS) -> tuple[int, int, float] | None:
    """(char_start, char_end, score) of the best passage span of one window."""
    valid = np.array([o is not None and o[1] > o[0] for o in offsets])
    if not valid.any():
        return None
    s = np.where(valid, start, -np.inf)
    e = np.where(valid, end, -np.inf)
    # score[i, j] = s[i] + e[j] for i <= j < i + max_tokens; everything else is out.
    n = len(offsets)
    scores = s[:, None] + e[None, :]
    i, j = np.indices((n, n))
    scores[(j < i) | (j >= i + max_tokens)] = -np.inf
    flat = int(np.argmax(scores))
    a, b = divmod(flat, n)
    if not np.isfinite(scores[a, b]):
        return None
    first, last = offsets[a], offsets[b]
    assert first is not None and last is not None
    return int(first[0]), int(last[1]), float(scores[a, b])


def end_without_glued_particle(passage: str, start: int, end: int) -> int:
    """The span's end before a final 的, and before any punctuation or space after it.

    The tokenizer glues 的 to the word before it (人的, 性的, 时代的 are single tokens), so
    a span cannot end between them, though answers almost never end with 的 (23 of the
    10,142 CMRC 2018 train answers). The 的 is looked for behind trailing punctuation too
    (人的，), so that the punctuation trim of the answering step cannot expose it again.
    """
    last = end
    while last > start and (passage[last - 1].isspace() or unicodedata.category(passage[last - 1])[0] == "P"):
        last -= 1
    return last - 1 if last - start > 1 and passage[last - 1] == "的" else end


def answer_bounds(passage: str, first: tuple[int, int], last: tuple[int, int],
                  edges: SpanEdges) -> tuple[int, int]:
    """(start, end) of the answer from token ``first`` to token ``last``: each edge inside
    its token where the span edges table says answers end there (span_edges.py), and the
    end before a glued final 的 (a general rule, for X的 tokens the table has not seen)."""
    start, end = edges.cut(passage, first, last)
    trimmed = end_without_glued_particle(passage, first[0], last[1])
    if trimmed != last[1]:
        start, end = (start if start < trimmed else first[0]), trimmed
    return start, end


class Reader:
    """Reads passages for a question: the best span of each, with its has-answer probability.

    A read runs on as many torch threads as there are idle cores when it starts, up to
    ``threads`` (0: every core the process may use), and on one when it starts
    beside another read of its process (server request threads answering at once). A
    passage window is large enough to split: a question's reading took 71 ms on one
    thread and 41 ms on two on the 2-core machine, where the question's own encoding is
    fastest on one (threads.py). On a core another process keeps busy, a thread would
    hold up every step of the read it shares (benchmarks/contention.py), and reads side
    by side already keep the cores busy.
    """

    def __init__(self, model: Any, tokenizer: Any, max_length: int = MAX_LENGTH, stride: int = DOC_STRIDE,
                 precision: str = "fp32", threads: int = 0, edges: SpanEdges | None = None) -> None:
        if precision == "bf16":
            import torch

            # Weights held in bf16 once, rather than autocast casting them on every call:
            # about 5 ms less per passage on 2 cores, and the same EM/F1 on a CMRC dev
            # sample (42.4/72.3 against 42.0/72.0 with autocast).
            model = model.to(torch.bfloat16)
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.stride = stride
        self.precision = precision
        self.threads = threads or available_cores()
        self.edges = edges or SpanEdges({}, {})  # none: spans keep whole tokens
        self._reading = 0  # reads in flight in this process
        self._reading_lock = threading.Lock()

    def read(self, question: str, passages: Sequence[str]) -> list[Span | None]:
        """The best span of each passage (None where a passage has no readable text)."""
        return self.read_pairs([question] * len(passages), passages)

    def read_pairs(self, questions: Sequence[str], passages: Sequence[str]) -> list[Span | None]:
        """The best span of each passage for its own question, in one batch."""
        import torch

        if not passages:
            return []
        questions = [self._fitting(q) for q in questions]
        encoded = encode_windows(self.tokenizer, questions, passages, self.max_length, self.stride)
        with self._cores(), torch.inference_mode():
            start, end, has = self.model(torch.from_numpy(encoded["input_ids"]).long(),
                                         torch.from_numpy(encoded["attention_mask"]).long())
        start, end = start.float().numpy(), end.float().numpy()
        has_answer = torch.sigmoid(has.float()).numpy()
        best: list[Span | None] = [None] * len(passages)
        for w, sample in enumerate(encoded["overflow_to_sample_mapping"]):
            found = best_span(start[w], end[w], encoded["offset_mapping"][w])
            if found is None:
                continue
            p = int(sample)
            current = best[p]
            # A passage read in several windows answers with its most confident window.
            if current is None or (has_answer[w], found[2]) > (current.has_answer, current.score):
                char_start, char_end = self._cut(passages[p], encoded["offset_mapping"][w], found)
                best[p] = Span(p, char_start, char_end, found[2], float(has_answer[w]))
        return best

    def _cut(self, passage: str, offsets: list[tuple[int, int] | None],
             found: tuple[int, int, float]) -> tuple[int, int]:
        # The tokenizer's offsets are numpy integers: plain ones go into the answer JSON.
        first = next((int(o[0]), int(o[1])) for o in offsets
                     if o is not None and o[0] == found[0] and o[1] > o[0])
        last = next((int(o[0]), int(o[1])) for o in reversed(offsets)
                    if o is not None and o[1] == found[1] and o[1] > o[0])
        return answer_bounds(passage, first, last, self.edges)

    @contextmanager
    def _cores(self) -> Iterator[int]:
        """The calling thread's torch threads for one read: the idle cores up to
        ``threads`` when no other read is in flight, else one; the thread's own count is
        restored after."""
        import torch

        with self._reading_lock:
            self._reading += 1
            alone = self._reading == 1
        before = torch.get_num_threads()
        try:
            yield use_threads(min(self.threads, idle_cores()) if alone else 1)
        finally:
            use_threads(before)
            with self._reading_lock:
                self._reading -= 1

    def _fitting(self, question: str) -> str:
        """The question cut to MAX_QUESTION_TOKENS tokens (at a token boundary)."""
        offsets = self.tokenizer(question, add_special_tokens=False, return_offsets_mapping=True,
                                 truncation=True, max_length=MAX_QUESTION_TOKENS)["offset_mapping"]
        return question[: offsets[-1][1]] if offsets else question


def load_reader(model_dir: Path, weights: Path, precision: str = "fp32", threads: int = 0) -> Reader:
    """The shipped reader on the converted base model in ``model_dir``, reading on at most
    ``threads`` torch threads (0: every core the process may use)."""
    from transformers import AutoTokenizer

    model, card = load_model(model_dir, weights)
    try:
        edges = load_span_edges()
    except SpanEdgesError as exc:
        raise ReaderError(str(exc)) from exc
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    return Reader(model, tokenizer, int(card.get("max_length", MAX_LENGTH)),
                  int(card.get("doc_stride", DOC_STRIDE)), precision, threads, edges)


def weights_digest(weights: Path) -> str:
    """A short content hash of a weights file: calibration measured for other weights
    must not be applied to these."""
    import hashlib

    digest = hashlib.sha256()
    with weights.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]

