"""English words written in pinyin (Guangzhou, Tai'an, hukou, Pan Gongsheng) -> the Chinese they spell.

English news writes Chinese places, people and terms in pinyin, and the dictionary's English senses
rarely list them ("Tai'an city prefecture level city in Shandong" is no lookup key). CC-CEDICT gives
every headword its pinyin, so a word is looked up by its sound; a person's name the dictionary lacks
is spelled character by character from a dictionary surname, keeping only spellings whose every
character pair occurs in the corpus.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

BEAM = 64  # partial spellings kept per syllable: corpus character pairs prune almost all of them
_LETTERS_RE = re.compile(r"[a-z]+")
_WORD_RE = re.compile(r"[A-Za-z]+")
_CJK_RE = re.compile(r"^[\u3400-\u9fff]+$")
_SURNAME_RE = re.compile(r"^surname [A-Z]")


@dataclass(frozen=True)
class Spelling:
    chinese: str
    spelled: bool = False  # spelled character by character, not a dictionary headword


class PinyinIndex:
    """Toneless pinyin -> headwords, syllable -> characters, and the English words (never read as pinyin)."""

    def __init__(self) -> None:
        # as strings, not lists of tuples (a third of the memory): "N广州 N光州", N a name and w a word
        self.words: dict[str, str] = defaultdict(str)
        self.chars: dict[str, str] = defaultdict(str)  # syllable -> its characters, one string
        self.surnames: set[str] = set()
        self.syllables: set[str] = set()
        self.english: set[str] = set()

    def add(self, simplified: str, pinyin: str, glosses: Iterable[str]) -> None:
        """One CC-CEDICT entry: `pinyin` as the dictionary writes it ("Tai4 an1", "lu:4")."""
        glosses = list(glosses)
        for gloss in glosses:
            # words the senses use in lower case are English: "dance" is never 单策 ("Hukou County" is a name)
            self.english.update(w for w in _WORD_RE.findall(gloss) if w.islower())
        if not _CJK_RE.match(simplified):
            return
        syllables = [re.sub(r"[1-5]$", "", s).lower().replace("u:", "v") for s in pinyin.split()]
        if len(syllables) != len(simplified) or not all(s.isalpha() for s in syllables):
            return
        for syllable in syllables:
            self.syllables.update(_forms(syllable))
        for key in _forms("".join(syllables)):
            self.words[key] += ("N" if pinyin[:1].isupper() else "w") + simplified + " "
        if len(simplified) == 1:
            for form in _forms(syllables[0]):
                self.chars[form] += simplified
            if any(_SURNAME_RE.match(g) for g in glosses):
                self.surnames.add(simplified)

    def is_pinyin(self, word: str) -> bool:
        """The word splits into pinyin syllables, and a lower-case one is no English word."""
        key = _key(word)
        if not key or (not word[:1].isupper() and key in self.english):
            return False
        return bool(self._segmentations(word))

    def spell(self, word: str, capitalised: bool, doc_freq: Callable[[str], int]) -> list[tuple[Spelling, int]]:
        """Headwords whose pinyin is the word's, with their corpus frequency (only those the corpus has)."""
        found = []
        for chinese, name in self.headwords(_key(word)):
            # a capitalised word spells a name (Yulong is not 鱼龙), a lower-case one a word (hukou: 户口);
            # one syllable stands for too many characters to guess
            if name != capitalised or len(chinese) < 2:
                continue
            df = doc_freq(chinese)
            if df > 0:
                found.append((Spelling(chinese), df))
        return found

    def headwords(self, key: str) -> list[tuple[str, bool]]:
        """(Simplified headword, is a name) of every entry whose toneless pinyin is `key`."""
        return [(entry[1:], entry[0] == "N") for entry in self.words.get(key, "").split()]

    def spell_name(self, words: list[str], doc_freq: Callable[[str], int]) -> list[tuple[Spelling, int]]:
        """A person's name, a one-syllable surname and a given name of one or two ("Pan Gongsheng"), spelled
        character by character, with how many passages contain the spelling's characters together."""
        surname, given = words
        if _key(surname) not in self.chars:
            return []
        best: dict[str, int] = {}
        for syllables in self._segmentations(given):
            if len(syllables) > 2:
                continue
            for chinese in self._chains([_key(surname), *syllables], doc_freq):
                best[chinese] = max(best.get(chinese, 0), doc_freq(chinese))
        return [(Spelling(c, spelled=True), df) for c, df in best.items() if df > 0]

    def _chains(self, syllables: list[str], doc_freq: Callable[[str], int]) -> list[str]:
        """Spellings from a dictionary surname whose every character pair occurs in the corpus, the
        BEAM with the commonest rarest pair kept at each step."""
        beams = [(c, 1 << 30) for c in self.chars.get(syllables[0], ()) if c in self.surnames]
        pairs: dict[str, int] = {}  # beams share their last character: each pair is looked up once
        for syllable in syllables[1:]:
            grown = []
            for prefix, df in beams:
                for c in self.chars.get(syllable, ()):
                    key = prefix[-1] + c
                    if key not in pairs:
                        pairs[key] = doc_freq(key)
                    pair = pairs[key]
                    if pair > 0:
                        grown.append((prefix + c, min(df, pair)))
            beams = sorted(grown, key=lambda b: -b[1])[:BEAM]
        return [chain for chain, _ in beams]

    def _segmentations(self, text: str) -> list[list[str]]:
        """Every way to split the text into syllables; apostrophes, hyphens and spaces are breaks."""
        result: list[list[str]] = [[]]
        for part in re.split(r"[\s'’\-]+", text.lower()):
            if not part:
                continue
            splits = _split(part, self.syllables)
            if not splits:
                return []
            result = [r + s for r in result for s in splits][:64]
        return result if result != [[]] else []


def _split(text: str, syllables: set[str]) -> list[list[str]]:
    """All splits of a run of letters into known syllables (at most 6 letters each)."""
    if not text:
        return [[]]
    found = []
    for end in range(min(6, len(text)), 0, -1):
        head = text[:end]
        if head in syllables:
            found += [[head] + rest for rest in _split(text[end:], syllables)]
    return found


def _key(word: str) -> str:
    return "".join(_LETTERS_RE.findall(word.lower().replace("ü", "v")))


def _forms(syllable: str) -> list[str]:
    """English writes ü as u (Lüliang -> Luliang) or v."""
    return [syllable, syllable.replace("v", "u")] if "v" in syllable else [syllable]


def fit(spelling: Spelling, df: int) -> float:
    """How likely the spelling is meant: a dictionary headword over a character-by-character spelling,
    and the more common the likelier (on the scale of the dictionary bridge's exact name senses)."""
    return 2.0 * (0.5 if spelling.spelled else 1.0) * math.log1p(df)
