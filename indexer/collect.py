"""collect: clean and chunk every article, reusing the clean cache for articles that did not change."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from indexer import store
from indexer.chunk import Passage, chunk_blocks
from indexer.clean import Boilerplate, RecordedBoilerplate, boilerplate_of, clean_text, find_date, page_keys
from indexer.config import IndexConfig
from indexer.html import html_to_text
from indexer.load import Article, LoadReport
from indexer.normalize import detect_lang
from indexer.sqlcache import CleanCache, PageKeysCache


@dataclass
class Corpus:
    articles: list[store.ArticleRow] = field(default_factory=list)
    passages: dict[str, Passage] = field(default_factory=dict)  # passage_id -> first occurrence
    occurrences: list[tuple[str, str, int]] = field(default_factory=list)
    duplicates: int = 0


_CLEAN_CACHE_FORMAT = 2  # a cached article: [answers, title, date, [passage fields + sentence spans]]
# The modules that turn an input into passages: a change to any of them changes what a build makes.
_CODE = ("load.py", "html.py", "links.py", "clean.py", "normalize.py", "chunk.py", "collect.py")


def code_digest() -> bytes:
    folder = Path(__file__).parent
    return hashlib.sha1(b"".join((folder / name).read_bytes() for name in _CODE)).digest()


def collect(config: IndexConfig, raw: list[Article], report: LoadReport) -> Corpus:
    """Clean and chunk every article; a passage seen twice is kept once with both occurrences.

    An article whose text and answers from the corpus-wide boilerplate are those of the last build is
    taken from the clean cache instead of being cleaned again (most of a rebuild's cleaning time).
    """
    from tqdm import tqdm

    quiet = not config.show_progress
    raw = [_extract(a) for a in raw]
    hashes = [hashlib.sha1(a.text.encode("utf-8", "surrogatepass")).hexdigest() for a in raw]
    boilerplate = _boilerplate(config, raw, hashes)
    corpus = Corpus()
    seen_ids: set[str] = set()
    with CleanCache(config.index_dir, _clean_version(config)) as memo:
        for page, article in enumerate(tqdm(raw, desc="clean+chunk", unit="article", disable=quiet)):
            title, date, passages = _cleaned(memo, hashes[page], article, boilerplate, page, config)
            if not passages:
                report.skip(article.path, "no article text after cleaning", "article")
                continue
            doc_id = _unique(article.doc_id, seen_ids)
            corpus.articles.append(store.ArticleRow(
                doc_id=doc_id, title=article.title or title, date=_date(article.date) or date,
                path=article.path, url=article.url, source=article.source, lang=_majority_lang(passages)))
            for p in passages:
                corpus.occurrences.append((p.passage_id, doc_id, p.position))
                if p.passage_id in corpus.passages:
                    corpus.duplicates += 1
                else:
                    corpus.passages[p.passage_id] = dataclasses.replace(p, doc_id=doc_id)
        memo.keep_only(hashes)
    return corpus


def _boilerplate(config: IndexConfig, raw: list[Article], hashes: list[str]) -> Boilerplate:
    """corpus_boilerplate of the articles, with each page's fingerprints from the cache when its text is
    the same as last time."""
    with PageKeysCache(config.index_dir, _clean_version(config)) as memo:

        def keys(text_hash: str, text: str) -> tuple[list[str], list[str]]:
            hit = memo.load(text_hash)
            if hit is not None:
                labels, sentences = hit
                return labels, sentences
            found = page_keys(text)
            memo.store(text_hash, found)
            return found

        boilerplate = boilerplate_of((keys(h, a.text) for h, a in zip(hashes, raw)), len(raw))
        memo.keep_only(hashes)
    return boilerplate


def _clean_version(config: IndexConfig) -> str:
    """What a cleaned article depends on besides its text and the boilerplate's answers."""
    return hashlib.sha1(code_digest() + repr((config.chunking(), _CLEAN_CACHE_FORMAT)).encode("utf-8")).hexdigest()


def _cleaned(memo: CleanCache, text_hash: str, article: Article, boilerplate: Boilerplate, page: int,
             config: IndexConfig) -> tuple[str | None, str | None, list[Passage]]:
    """(title, date, passages) of one article, from the cache when the corpus answers as it did then."""
    hit = memo.load(text_hash)
    if hit is not None:
        answers, title, date, rows = hit
        if boilerplate.answers_hold({(kind, key): answer for kind, key, answer in answers}, page):
            return title, date, [Passage(pid, article.doc_id, position, text, lang, fp, [(a, b) for a, b in spans])
                                 for pid, position, text, lang, fp, spans in rows]
    recorded = RecordedBoilerplate(labels=boilerplate.labels, sentences=boilerplate.sentences)
    cleaned = clean_text(article.text, recorded, page)
    passages = chunk_blocks(article.doc_id, cleaned.blocks, config.max_chars, config.min_chars)
    answers = [[kind, key, answer] for (kind, key), answer in recorded.answers.items()]
    rows = [[p.passage_id, p.position, p.text, p.lang, p.fp, p.spans] for p in passages]
    memo.store(text_hash, [answers, cleaned.title, cleaned.date, rows])
    return cleaned.title, cleaned.date, passages


def _extract(article: Article) -> Article:
    if not article.is_html:
        return article
    page = html_to_text(article.text)
    article.text = page.text
    article.title = article.title or page.title
    article.url = article.url or page.url
    article.date = article.date or page.date
    return article


def _unique(doc_id: str, seen: set[str]) -> str:
    candidate, n = doc_id, 1
    while candidate in seen:
        n += 1
        candidate = f"{doc_id}-{n}"
    seen.add(candidate)
    return candidate


def _date(value: str | None) -> str | None:
    return find_date(value) if value else None


def _majority_lang(passages: list[Passage]) -> str:
    weights: dict[str, int] = {}
    for p in passages:
        weights[p.lang] = weights.get(p.lang, 0) + len(p.text)
    return max(weights, key=lambda lang: weights[lang]) if weights else detect_lang("")
