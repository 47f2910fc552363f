"""Near-duplicate test for result lists: character-bigram Jaccard of two passages' matching forms."""

from __future__ import annotations

NEAR_DUPLICATE = 0.6  # Jaccard above which two passages say the same thing


def bigrams(fp: str) -> set[str]:
    return {fp[i:i + 2] for i in range(len(fp) - 1)} or {fp}


def near_duplicates(a: set[str], b: set[str]) -> bool:
    if not a or not b:
        return False
    shared = len(a & b)  # the union's size follows from it, without building the union
    return shared / (len(a) + len(b) - shared) > NEAR_DUPLICATE
