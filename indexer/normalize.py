"""Text normalisation shared by indexing and querying: NFKC, Traditional->Simplified, pinyin, language."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Tone-marked pinyin that one site injects after each character: 常務(wù)副部長(zhǎng).
# English in brackets, e.g. (NFL) or (Sputnik), has no tone marks and starts upper-case, so it stays.
_TONE = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
PINYIN_RE = re.compile(rf"(?<=[\u3400-\u9fff])[(（]\s*[a-zü]*[{_TONE}][a-zü{_TONE}]*\s*[)）]")
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")
_SPACE_RE = re.compile(r"[ \t\u00a0\u3000\u2000-\u200a\u202f\u205f]+")
# \w is exactly str.isalnum() plus "_" (re docs): this keeps the characters isalnum() keeps, 5x faster
_NOT_ALNUM_RE = re.compile(r"[\W_]+")
_ZERO_WIDTH_RE = re.compile(r"[\u200b-\u200d\u2060\ufeff\ufffd]")


def strip_pinyin(text: str) -> str:
    return PINYIN_RE.sub("", text)


def tidy(text: str) -> str:
    """Display-safe clean-up: drop zero-width and replacement characters, fold odd spaces."""
    return _SPACE_RE.sub(" ", _ZERO_WIDTH_RE.sub("", text)).strip()


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def normalize(text: str) -> str:
    """Matching form: NFKC, pinyin removed, Simplified script, lower case, single spaces."""
    text = strip_pinyin(unicodedata.normalize("NFKC", text))
    return _SPACE_RE.sub(" ", to_simplified(text)).strip().lower()


def fingerprint(text: str) -> str:
    """Letters and digits only: two passages with the same fingerprint are the same passage."""
    return _NOT_ALNUM_RE.sub("", normalize(text))


def detect_lang(text: str) -> str:
    """'en', 'zh-Hans' or 'zh-Hant' by script counts (enough for news passages and queries)."""
    cjk = len(_CJK_RE.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    if cjk == 0 or latin_words > cjk:
        return "en" if latin_words or not cjk else "zh-Hans"
    changed = sum(a != b for a, b in zip(text, to_simplified(text)))
    return "zh-Hant" if changed >= max(1, 0.05 * cjk) else "zh-Hans"


def cjk_share(text: str) -> float:
    """Share of Chinese in a text, counting a Latin word as about one and a half CJK characters."""
    cjk = len(_CJK_RE.findall(text))
    words = len(_LATIN_WORD_RE.findall(text))
    return cjk / (cjk + 1.5 * words) if cjk or words else 0.0
