"""Questions encoded by ONNX Runtime: the vectors sentence-transformers gives, or not used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa_service.corpus import chunk_article, embedding_text, read_corpus
from qa_service.models import SentenceTransformerEncoder
from qa_service.models.onnx_queries import OnnxQueryError, _parts, load_onnx_queries

from ..conftest import SEED_CORPUS

QUESTIONS = [
    "藁城区完成了多少户厕所改造？",
    "How many households had their toilets renovated?",
    "ＡＢＣ全角的问题１２３？",
    "  spaces around,\ttabs and\nnewlines  ",
    "石家庄" * 400 + "是哪里？",  # longer than the model's 512 tokens: cut as torch cuts it
]


class Transformer:
    pass


class Pooling:
    def __init__(self, mode: str) -> None:
        self.mode = mode

    def get_config_dict(self) -> dict:
        return {"pooling_mode": self.mode, "include_prompt": True}


class Normalize:
    pass


def test_only_mean_pooled_normalised_transformers_are_exported() -> None:
    with pytest.raises(OnnxQueryError, match="pooling"):
        _parts([Transformer(), Pooling("cls"), Normalize()])
    with pytest.raises(OnnxQueryError, match="pipeline"):
        _parts([Transformer(), Pooling("mean")])


# How close "the same vectors" are: fp32 kernels differ between this project's CPUs in
# the last digits (Intel Xeon and AMD EPYC: cosine 0.99998975 for a batch of 15 against
# one of 5 on the AMD one), and bf16 rounds more. Ten times the largest gap measured; a
# wrong graph or model gives far less (another model's vectors: under 0.9).
SAME_VECTOR = 0.9999


def same_vectors(vectors: np.ndarray, expected: np.ndarray, passages: np.ndarray) -> None:
    """The same vectors, as a user would notice them: each question close to its expected
    vector, and the same three passages on top for each, in the same order."""
    assert vectors.dtype == np.float32 and vectors.shape == expected.shape
    assert (vectors * expected).sum(axis=1).min() >= SAME_VECTOR

    def top(queries: np.ndarray) -> np.ndarray:
        return np.argsort(-(queries @ passages.T), axis=1, kind="stable")[:, :3]

    assert np.array_equal(top(vectors), top(expected))


@pytest.fixture(scope="module")
def torch_encoder(real_model_dir: Path) -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder("multilingual-e5-small", real_model_dir.parent, precision="fp32",
                                      onnx_queries=False)


@pytest.fixture(scope="module")
def passages(torch_encoder: SentenceTransformerEncoder) -> np.ndarray:
    """The seed corpus's passage vectors."""
    corpus = read_corpus(SEED_CORPUS)
    return torch_encoder.encode_passages([embedding_text(a.title, c.text)
                                          for a in corpus.articles for c in chunk_article(a)])


@pytest.mark.slow
def test_questions_get_the_vectors_torch_gives(real_encoder, torch_encoder, passages: np.ndarray,
                                               real_model_dir: Path) -> None:
    assert real_encoder.query_runtime == "onnxruntime"
    assert torch_encoder.query_runtime == "torch"
    expected = torch_encoder.encode_queries(QUESTIONS)
    # A few questions go to ONNX Runtime, in fp32 at every precision.
    same_vectors(real_encoder.encode_queries(QUESTIONS), expected, passages)  # padded to the longest
    same_vectors(np.stack([real_encoder.encode_queries([q])[0] for q in QUESTIONS]), expected, passages)
    # A large batch goes to torch, on every core, at the encoder's precision.
    if real_encoder.precision != "fp32":
        expected = SentenceTransformerEncoder("multilingual-e5-small", real_model_dir.parent,
                                              precision=real_encoder.precision,
                                              onnx_queries=False).encode_queries(QUESTIONS)
    same_vectors(real_encoder.encode_queries(QUESTIONS * 3)[: len(QUESTIONS)], expected, passages)


@pytest.mark.slow
def test_the_graph_is_exported_once_and_a_damaged_one_replaced(torch_encoder, passages: np.ndarray,
                                                               real_model_dir: Path, tmp_path: Path) -> None:
    model = torch_encoder._model
    load_onnx_queries(model, str(real_model_dir), tmp_path)
    (graph,) = (tmp_path / "onnx").glob("*.onnx")
    written = graph.stat().st_mtime_ns
    load_onnx_queries(model, str(real_model_dir), tmp_path)
    assert graph.stat().st_mtime_ns == written  # reused, not exported again
    assert not list((tmp_path / "onnx").glob("*.partial"))

    graph.write_bytes(b"not a graph")
    with pytest.raises(OnnxQueryError, match="exported again"):
        load_onnx_queries(model, str(real_model_dir), tmp_path)
    assert not graph.exists()
    encoder = load_onnx_queries(model, str(real_model_dir), tmp_path)
    same_vectors(encoder.encode(QUESTIONS[:1]), torch_encoder.encode_queries(QUESTIONS[:1]), passages)


@pytest.mark.slow
def test_without_the_graph_questions_are_encoded_by_torch(real_model_dir: Path, torch_encoder,
                                                          passages: np.ndarray,
                                                          monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def refuse(*args: object) -> None:
        raise OnnxQueryError("the exported graph gives cosine 0.5 to sentence-transformers")

    monkeypatch.setattr("qa_service.models.encoder.load_onnx_queries", refuse)
    encoder = SentenceTransformerEncoder("multilingual-e5-small", real_model_dir.parent, precision="fp32")
    assert encoder.query_runtime == "torch"
    assert "encoded by sentence-transformers: the exported graph gives cosine 0.5" in capsys.readouterr().err
    same_vectors(encoder.encode_queries(QUESTIONS[:2]), torch_encoder.encode_queries(QUESTIONS[:2]), passages)


@pytest.mark.slow
def test_a_graph_that_gives_other_vectors_is_not_used(torch_encoder, real_model_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from qa_service.models import onnx_queries

    monkeypatch.setattr(onnx_queries, "MIN_PROBE_COSINE", 1.5)  # no graph can reach it
    with pytest.raises(OnnxQueryError, match="gives cosine"):
        load_onnx_queries(torch_encoder._model, str(real_model_dir), tmp_path)
    assert not list((tmp_path / "onnx").glob("*.onnx"))  # exported again next time
