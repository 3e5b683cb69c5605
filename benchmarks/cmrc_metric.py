"""EM and F1 as the official CMRC 2018 evaluation defines them (cmrc2018_evaluate.py).

- Text is lower-cased and stripped, and the script's punctuation characters (CJK marks
  and a few ASCII ones; not . , ( ) which it keeps) are removed.
- EM: the prediction equals a gold answer after that.
- F1: both are cut into segments (each Chinese character one segment, other runs as
  words) and F1 comes from the longest common substring of the two segment lists.
- A question's score is its best over the gold answers; a set's is the mean, in %.

The official script cuts the non-Chinese runs with NLTK's word tokenizer; here they are
cut into words and single punctuation marks with a regular expression, which gives the
same segments for the numbers, dates and Latin names CMRC answers hold.
"""

from __future__ import annotations

import re

# The official list, character for character ("……" is two characters there and so
# never matches one; it is left out).
_PUNCTUATION = frozenset("-:_*^/\\~`+=，。：？！“”；’《》·、「」（）－～『』")
_CJK = re.compile(r"[\u4e00-\u9fa5]")
_WORDS = re.compile(r"\w+|[^\w\s]")


def _remove_punctuation(text: str) -> str:
    return "".join(ch for ch in text.lower().strip() if ch not in _PUNCTUATION)


def segments(text: str) -> list[str]:
    """The official mixed segmentation with punctuation removed."""
    out: list[str] = []
    run = ""
    for ch in text.lower().strip():
        if ch in _PUNCTUATION:
            continue  # skipped without ending a run, as the official script does
        if _CJK.match(ch):
            out += _WORDS.findall(run)
            run = ""
            out.append(ch)
        else:
            run += ch
    return out + _WORDS.findall(run)


def _longest_common_substring(a: list[str], b: list[str]) -> int:
    best = 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def f1(prediction: str, answers: list[str]) -> float:
    scores = []
    predicted = segments(prediction)
    for answer in answers:
        gold = segments(answer)
        common = _longest_common_substring(gold, predicted)
        if common == 0:
            scores.append(0.0)
            continue
        precision, recall = common / len(predicted), common / len(gold)
        scores.append(2 * precision * recall / (precision + recall))
    return max(scores, default=0.0)


def exact_match(prediction: str, answers: list[str]) -> float:
    return float(any(_remove_punctuation(a) == _remove_punctuation(prediction) for a in answers))
