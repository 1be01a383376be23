"""Mention parsing benchmark (issue 16): the time ``chat.mentions.find_tags`` takes on hostile message bodies of
2,500 to 10,000 characters (the longest a message may be), beside the backtracking pattern it replaced, in the same
run. A linear parser takes about 4x as long for 4x the text; the old one took 16x (quadratic).

Run ``.venv/bin/python -m bench.mentions``; no database needed.
"""

import os
import re
import time
from collections.abc import Callable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from chat.mentions import find_tags  # noqa: E402

BACKTRACKING = (re.compile(r"(?<![\w@])@([\w.+\-@]*\w)"), re.compile(r"(?<![\w#&])#([\w\-.]*\w)"))
BODIES = {"@.": "@.", "@a (many mentions)": "@a ", "#-": "#-", "plain text": "hello world "}
SIZES = (2500, 5000, 10000)


def timed(parse: Callable[[str], object], body: str, rounds: int = 5) -> float:
    """The best of ``rounds`` runs, in ms."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        parse(body)
        best = min(best, time.perf_counter() - started)
    return best * 1000


def backtracking(body: str) -> object:
    """The replaced parser's pattern work (without its per-tag UTF-16 re-encoding, which was quadratic too)."""
    return [list(pattern.finditer(body)) for pattern in BACKTRACKING]


def main() -> None:
    """Print one row per hostile body: ms at each size, and the growth from the smallest to the largest."""
    print(f"{'body':<22}{'parser':<14}" + "".join(f"{size:>10,}" for size in SIZES) + f"{'growth':>9}")
    for label, unit in BODIES.items():
        for name, parse in (("find_tags", find_tags), ("backtracking", backtracking)):
            times = [timed(parse, (unit * size)[:size]) for size in SIZES]
            cells = "".join(f"{ms:>8.2f}ms" for ms in times)
            print(f"{label:<22}{name:<14}{cells}{times[-1] / max(times[0], 1e-6):>8.1f}x")


if __name__ == "__main__":
    main()
