"""Build the reader's span edges (qa_service/models/span_edges.py) from the training answers.

For every answer of CMRC 2018 train and DRCD dev and test (simplified with OpenCC, as the
reader is trained; never CMRC 2018 dev or trial), the tokens of its paragraph that hold
its first and its last character are found, and the characters of those tokens outside
the answer counted. A token's cut is the count its answers show most often, kept where
it is not zero and seen more often than no cut at all (a tie keeps the token whole),
and it does not cut a number in two.

--cross-validate first measures the rule where the sets are not seen: tables from one
half of the paragraphs, the other half's answers widened to whole tokens (what the
reader is trained to point at) and cut, scored by CMRC 2018 exact match: 96.96% ->
98.25% (262 answers gained, 40 lost). It chose the rule: asking for two answers or more
before a token is cut gained less (net +195 with two, +84 with ten), and cuts that split
a number lost 4 answers and gained none.

    python training/span_edges.py [--cross-validate] [--out FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.cmrc_metric import exact_match  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.models import materialize_builtin_model  # noqa: E402
from qa_service.models.reader import answer_bounds  # noqa: E402
from qa_service.models.span_edges import SPAN_EDGES_FILE, SpanEdges  # noqa: E402
from training.train_reader import DATASETS, examples_of  # noqa: E402

NO_EDGES = SpanEdges({}, {})
# Per answer: paragraph id, paragraph, its first and last token, the answer's start and end.
Answers = list[tuple[str, str, tuple[int, int], tuple[int, int], int, int]]
NUMBER_CHARACTERS = frozenset("0123456789.,%°")
SETS = (("cmrc2018/cmrc2018_train.json", "cmrc2018-train", False),
        ("drcd/DRCD_dev.json", "drcd-dev", True), ("drcd/DRCD_test.json", "drcd-test", True))


def edge_tokens(tokenizer: object) -> Answers:
    """Every training answer with the tokens of its paragraph it starts and ends in."""
    found = []
    offsets: dict[str, list[tuple[int, int]]] = {}
    for path, source, simplify in SETS:
        for row in examples_of(DATASETS / path, source, simplify):
            if row["answer"] is None:
                continue
            text, start = row["answer"]
            context = row["context"]
            if context not in offsets:
                offsets.clear()  # rows of one paragraph come together
                mapping = tokenizer(context, add_special_tokens=False,  # type: ignore[operator]
                                    return_offsets_mapping=True)["offset_mapping"]
                offsets[context] = [(s, e) for s, e in mapping if e > s]
            tokens = offsets[context]
            end = start + len(text)
            first = next((t for t in tokens if t[1] > start), None)
            last = next((t for t in reversed(tokens) if t[0] < end), None)
            if first is not None and last is not None:
                found.append((row["pid"], context, first, last, start, end))
    return found


def edges_of(answers: Answers) -> SpanEdges:
    leading: defaultdict[str, Counter[int]] = defaultdict(Counter)
    trailing: defaultdict[str, Counter[int]] = defaultdict(Counter)
    for _, context, first, last, start, end in answers:
        leading[context[first[0] : first[1]]][start - first[0]] += 1
        trailing[context[last[0] : last[1]]][last[1] - end] += 1

    def rule(table: defaultdict[str, Counter[int]], trailing: bool) -> dict[str, int]:
        cuts = {}
        for token, counts in table.items():
            cut, seen = max(counts.items(), key=lambda kv: (kv[1], -kv[0]))
            if cut and seen > counts[0] and cut < len(token) \
                    and not splits_number(token, len(token) - cut if trailing else cut):
                cuts[token] = cut
        return cuts

    return SpanEdges(rule(leading, False), rule(trailing, True))


def splits_number(token: str, at: int) -> bool:
    """Whether cutting ``token`` before character ``at`` would cut a number in two.

    A single training answer may end inside 2000 or 80% (an answer of 20 inside 2000年
    written otherwise); a number cut short is a wrong amount, the worst answer there is,
    and over the training halves these cuts lost 4 answers and gained none.
    """
    before, after = token[at - 1], token[at]
    both_numeric = before in NUMBER_CHARACTERS and after in NUMBER_CHARACTERS
    return both_numeric and (before.isdigit() or after.isdigit())


def cross_validate(answers: Answers) -> None:
    halves = [[a for a in answers if int(hashlib.md5(a[0].encode()).hexdigest(), 16) % 2 == h]
              for h in (0, 1)]
    before = after = gained = lost = 0
    for held_out, learned in ((halves[0], halves[1]), (halves[1], halves[0])):
        edges = edges_of(learned)
        for _, context, first, last, start, end in held_out:
            gold = [context[start:end]]
            # As the reader cuts its spans, with and without the table.
            was = exact_match(context[slice(*answer_bounds(context, first, last, NO_EDGES))], gold)
            now = exact_match(context[slice(*answer_bounds(context, first, last, edges))], gold)
            before, after = before + was, after + now
            gained, lost = gained + (now > was), lost + (now < was)
    n = len(answers)
    print(f"cross-validated over two halves of the paragraphs ({n} answers): whole tokens match "
          f"{100 * before / n:.2f}%, cut {100 * after / n:.2f}% (+{gained} -{lost})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SPAN_EDGES_FILE)
    parser.add_argument("--cross-validate", action="store_true")
    args = parser.parse_args()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(materialize_builtin_model(Settings.from_env().model_cache)))
    answers = edge_tokens(tokenizer)
    if args.cross_validate:
        cross_validate(answers)
    edges = edges_of(answers)
    punctuation = sum(all(unicodedata.category(ch)[0] in "PZ" for ch in token[:cut])
                      for token, cut in edges.leading.items())
    args.out.write_text(edges.to_json(answers=len(answers), sets=[name for _, name, _ in SETS]),
                        encoding="utf-8")
    print(f"{args.out}: {len(edges.leading)} leading cuts ({punctuation} of punctuation only), "
          f"{len(edges.trailing)} trailing cuts, from {len(answers)} answers")


if __name__ == "__main__":
    main()
