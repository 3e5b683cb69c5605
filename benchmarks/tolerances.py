"""How far "the same vectors" differ on this CPU: what the numerical tests' tolerances are
taken from.

fp32 kernels differ between this project's CPUs in the last digits (Intel Xeon; AMD EPYC,
with and without AVX512-BF16), and bf16 rounds more. For the seed bulletins' passages and
the bulletin questions, measured here at each precision:
- questions through ONNX Runtime (a few at a time, fp32) against torch, alone and padded
  together, and a large batch through torch against a small one (tests/models/test_onnx_queries.py,
  asserted >= 0.9999 with the same top 3 passages);
- passages in batches of 32 against 8 (a Ray build batches otherwise than a local one:
  tests/index/test_ray_build.py, asserted within 1e-5 per component in fp32);
- bf16 against fp32 (tests/test_real_model.py, asserted >= 0.995 with the same top passage);
- how often the top 3 passages of a question change between any two of them.

    python benchmarks/tolerances.py [--precisions fp32,bf16] [--results FILE]

bf16 where the CPU has no native bf16 is emulated (slow, and not what ``auto`` runs there),
but its rounding is the same; the table says which it was.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import Results, machine  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.corpus import chunk_article, embedding_text, read_corpus  # noqa: E402
from qa_service.models import SentenceTransformerEncoder, native_bf16  # noqa: E402

SECTION = "tolerances"


def top3(queries: np.ndarray, passages: np.ndarray) -> np.ndarray:
    return np.argsort(-(queries @ passages.T), axis=1, kind="stable")[:, :3]


def compare(results: Results, metric: str, got: np.ndarray, expected: np.ndarray,
            passages: np.ndarray | None) -> None:
    cosine = float((got * expected).sum(axis=1).min())
    largest = float(np.abs(got - expected).max())
    same = ""
    if passages is not None:
        agree = int((top3(got, passages) == top3(expected, passages)).all(axis=1).sum())
        same = f"; top 3 passages the same for {agree} of {len(got)}"
    results.add(SECTION, metric, cosine, "min cosine", note=f"largest component gap {largest:.2e}{same}")
    print(f"{metric}: min cosine {cosine:.8f}, largest gap {largest:.2e}{same}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    results = Results(args.results)
    settings = Settings.from_env()
    print(machine(), flush=True)
    results.add(SECTION, "machine", machine(), note="bf16 native" if native_bf16() else "bf16 emulated")

    corpus = read_corpus(ROOT / "corpus")
    texts = [embedding_text(a.title, c.text) for a in corpus.articles for c in chunk_article(a)]
    lines = (ROOT / "benchmarks" / "bulletin_questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    questions.append("石家庄" * 400 + "是哪里？")  # longer than the model's 512 tokens

    torch_fp32 = SentenceTransformerEncoder(settings.model, settings.model_cache, precision="fp32",
                                            onnx_queries=False)
    passages = torch_fp32.encode_passages(texts)
    expected = torch_fp32.encode_queries(questions)
    for precision in args.precisions.split(","):
        encoder = SentenceTransformerEncoder(settings.model, settings.model_cache, precision=precision)
        if precision == "fp32":
            onnx_alone = np.stack([encoder.encode_queries([q])[0] for q in questions])
            compare(results, "questions: ONNX Runtime one at a time / torch fp32", onnx_alone, expected,
                    passages)
            onnx_five = np.vstack([encoder.encode_queries(questions[i : i + 5])
                                   for i in range(0, len(questions), 5)])
            compare(results, "questions: ONNX Runtime five at a time / torch fp32", onnx_five, expected,
                    passages)
        else:
            bf16_passages = encoder.encode_passages(texts)
            compare(results, "passages: bf16 / fp32", bf16_passages, passages, None)
            compare(results, "questions through torch: bf16 / fp32", encoder.encode_queries(questions),
                    expected, passages)
        # Questions in a batch of 15 (torch: more than ONNX_MAX_QUERIES) against the same
        # questions in a batch of their own through torch.
        groups = [questions[i : i + 5] for i in range(0, len(questions), 5)]
        in_batch = np.vstack([encoder.encode_queries(g + questions[: 15 - len(g)])[: len(g)] for g in groups])
        torch_only = torch_fp32 if precision == "fp32" else SentenceTransformerEncoder(
            settings.model, settings.model_cache, precision=precision, onnx_queries=False)
        alone = np.vstack([torch_only.encode_queries(g) for g in groups])
        compare(results, f"questions {precision}: torch batch of 15 / of 5 or fewer", in_batch, alone,
                passages)
        compare(results, f"passages {precision}: batches of 32 / of 8",
                encoder.encode_passages(texts, batch_size=32), encoder.encode_passages(texts, batch_size=8),
                None)
    if results.path:
        print(f"rows added to {results.path}")


if __name__ == "__main__":
    main()
