"""Average exported reader weights (a "model soup"): runs trained from the same start on
different draws of the data disagree mostly in noise, which the mean cancels.

    python training/average_weights.py --out reader-soup.safetensors run7.safetensors run10.safetensors

The files must hold the same tensors (the same trained layers of the same base). The card
of the result records the cards of every input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def average(inputs: list[Path], out: Path) -> None:
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    sums: dict[str, torch.Tensor] = {}
    metas = []
    for path in inputs:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
            names = set(handle.keys())
            if sums and names != set(sums):
                raise SystemExit(f"{path} holds other tensors than {inputs[0]}: not the same layers")
            for name in names:
                tensor = handle.get_tensor(name).to(torch.float64)
                sums[name] = sums[name] + tensor if name in sums else tensor
        metas.append(meta)
    if len({(m.get("format"), m.get("trained_layers")) for m in metas}) != 1:
        raise SystemExit("the inputs differ in format or trained layers")
    cards = [json.loads(m.get("card", "{}")) for m in metas]
    history = [{"file": path.name, "card": c} for path, c in zip(inputs, cards, strict=True)]
    card = {**cards[-1], "average_of": history}
    card.pop("init", None)  # each input's own history is under average_of
    meta = {"format": metas[0]["format"], "trained_layers": metas[0]["trained_layers"],
            "card": json.dumps(card, ensure_ascii=False)}
    tensors = {name: (total / len(inputs)).to(torch.float16).contiguous() for name, total in sums.items()}
    partial = out.with_name(out.name + ".partial")
    save_file(tensors, str(partial), metadata=meta)
    os.replace(partial, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("inputs", type=Path, nargs="+")
    args = parser.parse_args()
    if len(args.inputs) < 2:
        parser.error("average at least two weights files")
    average(args.inputs, args.out)
    print(f"wrote {args.out}: the mean of {', '.join(p.name for p in args.inputs)}")


if __name__ == "__main__":
    main()
