"""Text normalisation shared by indexing and questions.

Lexical matching (index/lexical.py) and question cleaning (answering/question.py)
must treat text the same way, so the rules live once, here, below both: NFKC
(full-width letters and digits become ASCII), traditional to simplified characters
(OpenCC), and lower case for matching.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

# White space as JSON Schema (ECMA-262 \s) defines it, which the OpenAPI spec's patterns
# use; Python's str.isspace() also counts characters such as U+0085 and U+001C.
SCHEMA_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" \
                    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def is_blank(text: str) -> bool:
    return not text.strip(SCHEMA_WHITESPACE)


@functools.lru_cache(maxsize=1)
def _to_simplified() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def normalize_text(text: str, lower: bool = True) -> str:
    """NFKC, traditional → simplified, and (for matching, not for the cased encoder) lower case."""
    text = str(_to_simplified().convert(unicodedata.normalize("NFKC", text)))
    return text.lower() if lower else text
