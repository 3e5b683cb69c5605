"""Questions encoded with ONNX Runtime: the vectors sentence-transformers gives, in half the time.

A question is a few dozen tokens, so its forward pass through the 12 layers is mostly
torch's per-operation overhead: 23.0 ms in torch against 12.4 ms in ONNX Runtime for a
CMRC question on one thread of the 2-core machine (the encode step of
benchmarks/serving.py; `ask` without the reader went from 28.3 to 17.1 ms p50 in
benchmarks/answers.py's latency section).
A reader passage is mostly arithmetic: ONNX Runtime read XQuAD's passages 5-7% faster
on one thread but slower on two (45 against 41 ms a question), which is why only
questions go this way.

The exported graph starts after the word-embedding lookup: multilingual-e5's vocabulary
table (250,037 × 384, 384 MB of its 470) stays in torch's memory and is indexed here
with numpy, so the graph file and the session hold only the 21 M parameters of the
position embeddings and the layers. The graph is exported once per model into the model
cache (atomically; a few seconds) and checked against sentence-transformers on a probe
question each time it is loaded: an export that does not reproduce the vectors is not
used, and questions are encoded by sentence-transformers as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

EXPORT_FORMAT = 1  # bump when the exported graph changes: old files are not reused
PROBE = "藁城区完成了多少户厕所改造？"
# The graph is the model's where it gives the vectors torch gives: fp32 kernels differ
# between CPUs in the last digits (cosine 0.99998975 on an AMD EPYC for a vector torch
# made in a batch), another model's graph gives far less.
MIN_PROBE_COSINE = 0.9999


class OnnxQueryError(RuntimeError):
    """The model cannot be exported or does not reproduce sentence-transformers' vectors."""


class OnnxQueryEncoder:
    """``encode(texts)``: unit-length query vectors, one row per text, on one thread."""

    def __init__(self, session: Any, embeddings: np.ndarray, tokenizer: Any, prompt: str,
                 max_length: int) -> None:
        self._session = session
        self._embeddings = embeddings
        self._tokenizer = tokenizer
        self._prompt = prompt
        self._max_length = max_length

    def encode(self, texts: list[str]) -> np.ndarray:
        features = self._tokenizer([self._prompt + t for t in texts], truncation=True, padding=True,
                                   max_length=self._max_length, return_tensors="np")
        ids = features["input_ids"]
        (vectors,) = self._session.run(None, {"inputs_embeds": self._embeddings[ids],
                                              "attention_mask": features["attention_mask"].astype(np.int64)})
        return np.asarray(vectors, dtype=np.float32)


def load_onnx_queries(model: Any, location: str, cache_dir: Path) -> OnnxQueryEncoder:
    """The ONNX Runtime encoder for a sentence-transformers ``model`` loaded from
    ``location``, exporting its graph into ``cache_dir`` first if needed; OnnxQueryError
    where the model is not a mean-pooled, normalised transformer or the vectors differ."""
    import onnxruntime as ort

    transformer, embeddings, prompt = _parts(model)
    path = cache_dir / "onnx" / f"{Path(location).name}-{_fingerprint(location)}.onnx"
    if not path.is_file():
        _export(transformer, path)
    options = ort.SessionOptions()
    # One thread, in the calling thread, sleeping when idle: as torch answers questions
    # (models/threads.py); server request threads run the one session side by side.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # a damaged cache file: export again once
        path.unlink(missing_ok=True)
        raise OnnxQueryError(f"cannot load {path} ({exc}); it is exported again on the next start") from exc
    encoder = OnnxQueryEncoder(session, embeddings, model.tokenizer, prompt, int(model.max_seq_length))
    expected = np.asarray(model.encode_query([PROBE], convert_to_numpy=True, normalize_embeddings=True,
                                             show_progress_bar=False), dtype=np.float32)
    cosine = float(encoder.encode([PROBE])[0] @ expected[0])
    if not cosine >= MIN_PROBE_COSINE:  # e.g. another model's graph under the same name
        path.unlink(missing_ok=True)
        raise OnnxQueryError(f"the exported graph {path} gives cosine {cosine:.6f} to sentence-transformers; "
                             "it is exported again on the next start")
    return encoder


def _parts(model: Any) -> tuple[Any, np.ndarray, str]:
    """The transformer, its word-embedding table (shared with torch, not copied) and the
    query prompt; OnnxQueryError for any pipeline but transformer, mean pooling, normalise."""
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds != ["Transformer", "Pooling", "Normalize"]:
        raise OnnxQueryError(f"not a transformer, pooling, normalise pipeline: {kinds}")
    pooling = modules[1].get_config_dict()
    if pooling.get("pooling_mode") != "mean" or not pooling.get("include_prompt", True):
        raise OnnxQueryError(f"pooling {pooling} is not a mean over every token")
    transformer = modules[0].auto_model
    words = getattr(getattr(transformer, "embeddings", None), "word_embeddings", None)
    if words is None:
        raise OnnxQueryError(f"{type(transformer).__name__} has no word-embedding table")
    prompts = getattr(model, "prompts", {}) or {}
    return transformer, words.weight.detach().float().numpy(), str(prompts.get("query", ""))


def _fingerprint(location: str) -> str:
    """Changes with the export format, torch, and the model's files (size and time)."""
    import torch

    digest = hashlib.sha256(f"{EXPORT_FORMAT} {torch.__version__}".encode())
    folder = Path(location)
    for file in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if file.is_file():
            stat = file.stat()
            digest.update(f"{file.relative_to(folder)} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _export(transformer: Any, path: Path) -> None:
    import torch

    class AfterLookup(torch.nn.Module):
        """The transformer from word embeddings on, mean-pooled and normalised."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, inputs_embeds: Any, attention_mask: Any) -> Any:
            output = self.transformer(inputs_embeds=inputs_embeds, attention_mask=attention_mask)
            hidden = output.last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    width = transformer.config.hidden_size
    example = (torch.zeros(1, 8, width), torch.ones(1, 8, dtype=torch.long))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        # The exporter warns about tracing (constant shapes it records); the graph is
        # checked against sentence-transformers after loading instead.
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(AfterLookup().eval(), example, str(partial), dynamo=False,
                              input_names=["inputs_embeds", "attention_mask"], output_names=["vectors"],
                              dynamic_axes={"inputs_embeds": {0: "texts", 1: "tokens"},
                                            "attention_mask": {0: "texts", 1: "tokens"},
                                            "vectors": {0: "texts"}},
                              opset_version=17)
        os.replace(partial, path)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        raise OnnxQueryError(f"cannot export the question encoder to {path}: {exc}") from exc
