"""Text from outside (Kaggle's replies, file and run names) made safe to show: every character that a terminal or a
browser would act on rather than show is spelled out as Python writes it (``\\x1b``, ``\\n``, ``\\u202e``)."""
from __future__ import annotations

import math
import re
from typing import Sequence

# C0 and C1 controls and DEL (a terminal's escape sequences: clear the screen, recolour, rewrite the title; a line
# break starts a line that looks like the toolkit's own), and the bidirectional overrides and isolates that show a
# line in another order than it is written
UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def spelled_out(text: str) -> str:
    """``text`` with each ``UNSHOWN`` character written as its escape, so it shows on one line as it is."""
    return UNSHOWN.sub(lambda m: ascii(m.group())[1:-1], text)


def count_words(n: int, noun: str, plural: str | None = None) -> str:
    """'1 row', '2 rows', '1,000 rows': a count the reader sees, with the noun in the number it has ("submission(s)"
    made every reader do that sum)."""
    return f"{n:,} {noun_for(n, noun, plural)}"


def percent(fraction: float | None, digits: int = 1, missing: str = "-") -> str:
    """A fraction as the percentage a reader compares with Kaggle's ('81.2%'); ``missing`` where there is no value
    (None, or NaN from an empty table cell). Shared by the report's tables and the commands' and the pipeline's
    lines, which had one such helper each; sentences that always have a value format it in place."""
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return missing
    return f"{100 * fraction:.{digits}f}%"


def noun_for(n: int, noun: str, plural: str | None = None) -> str:
    """``noun`` in the number ``n`` asks for, without the count: 'file' or 'files' before a list of names."""
    return noun if n == 1 else plural or noun + "s"


def and_list(names: Sequence[str]) -> str:
    """'A, B and C': names in a sentence."""
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)
