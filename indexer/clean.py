"""Turn a scraped page into clean paragraphs: boilerplate, pinyin annotations and repeats removed."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from indexer.normalize import fingerprint, strip_pinyin, tidy

# Known markers, documented in the README. Everything else is caught by the general rules below.
# Lines that *are* one of these labels (no sentence of their own) are navigation or widgets.
LABEL_MARKERS = (
    "相关推荐", "相关新闻", "相关阅读", "延伸阅读", "封面图片", "每日头条", "最新资讯", "热门推荐", "分享",
    "MORE", "app下载", "App下载", "APP下载", "登录", "注册", "原文链接", "扫描二维码", "关注我们",
    "上一篇", "下一篇", "返回首页", "返回搜狐", "阅读全文", "点击查看", "责任编辑", "打开App", "订阅",
)
# Disclaimers and bot prompts: dropped wherever they stand, even as full sentences.
NOTICE_MARKERS = (
    "转载自", "仅代表", "不代表本网", "仅供参考阅读", "版权归", "广告声明", "免责声明", "未经授权",
    "禁止转载", "发送关键词", "SOSO机器人", "网友评论仅供", "点击下载",
)
# Where the article ends and the page footer (comments, rankings, copyright) begins.
FOOTER_MARKERS = (
    "读者评论", "网友评论", "最新评论", "发表评论", "热门排行", "品牌理念", "版权所有", "Copyright",
    "©", "友情链接", "隐私条款", "联系我们",
)
# A footer marker only ends the article after this much body text (header navigation repeats them).
FOOTER_MIN_BODY = 200

SENTENCE_END = "。！？!?…；;"
_EN_SENTENCE_RE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”')]))\s+(?=[A-Z0-9\"“(])")
_DATE_RES = (
    re.compile(r"(?<!\d)((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})"),
    re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
)
_META_RES = (
    *_DATE_RES,
    re.compile(r"\d{1,2}:\d{2}(?::\d{2})?\s*(?:AM|PM|am|pm)?"),
    re.compile(r"(?:来源|來源|作者|编辑|編輯|记者|記者|责编)\s*[:：]\s*\S{0,12}"),
    re.compile(r"评论\s*\d+\s*条|\d+\s*条评论|原文链接|阅读\s*\d+|\(\d+\)"),
)
_WIDGET_RE = re.compile(r"°C|℃|=\s*\d|\d+\s*=|@[\w-]+\.\w|电话\s*[:：]|邮箱\s*[:：]|\(\d{2,4}\)\s*\d{3,}")
_CONTENT_RE = re.compile(r"[\w\u3400-\u9fff]")


@dataclass
class Block:
    """One paragraph of body text, with the headline line that introduced it (if any)."""

    text: str
    heading: str | None = None

    @property
    def full_text(self) -> str:
        return f"{self.heading}\n{self.text}" if self.heading else self.text


@dataclass
class CleanArticle:
    blocks: list[Block] = field(default_factory=list)
    title: str | None = None
    date: str | None = None


def content_len(line: str) -> int:
    return len(_CONTENT_RE.findall(line))


def ends_sentence(line: str) -> bool:
    return line.rstrip("”」』\")）] ").endswith(tuple(SENTENCE_END)) or line.rstrip().endswith(".")


def is_label(line: str) -> bool:
    """Short line with no sentence of its own: a menu item, tag, byline or headline."""
    return content_len(line) <= 20 and not ends_sentence(line)


def split_sentences(text: str) -> list[str]:
    """Sentences ending in Chinese or English sentence punctuation; keeps the punctuation."""
    parts: list[str] = []
    for piece in re.findall(r"[^。！？!?…]+[。！？!?…]*[”」』\"’）)]*", text):
        parts.extend(s for s in _EN_SENTENCE_RE.split(piece) if s)
    return [p for p in parts if p.strip()] or ([text] if text.strip() else [])


def find_date(text: str) -> str | None:
    """First plausible date in the text, as YYYY-MM-DD."""
    for match in sorted((m for rx in _DATE_RES for m in rx.finditer(text)), key=lambda m: m.start()):
        year, month, day = (int(g) for g in match.groups())
        if 1 <= month <= 12 and 1 <= day <= 31:
            return f"{year:04d}-{month:02d}-{day:02d}"
    return None


def is_meta_line(line: str) -> bool:
    """Dates, times, source and comment counts with nothing else: a page's metadata strip."""
    if content_len(line) > 80:
        return False
    rest = line
    for rx in _META_RES:
        rest = rx.sub(" ", rest)
    return content_len(rest) <= 4 and content_len(line) > content_len(rest)


@dataclass(frozen=True)
class Boilerplate:
    """What corpus-wide repetition says about a page's lines (see corpus_boilerplate)."""

    labels: frozenset[str] = frozenset()  # label lines on 2+ pages: site chrome, dropped everywhere
    # sentence fingerprint -> the first page that carries it: a notice (or a syndicated story) stays
    # there and is dropped from the others, so nothing vanishes from the index
    sentences: Mapping[str, int] = field(default_factory=dict)

    def is_site_label(self, key: str) -> bool:
        return key in self.labels

    def drops_sentence(self, key: str, page: int) -> bool:
        owner = self.sentences.get(key)
        return owner is not None and owner != page

    def counts_sentences(self) -> bool:
        return bool(self.sentences)

    def labels_only(self) -> Boilerplate:
        return Boilerplate(labels=self.labels)

    def answers_hold(self, answers: Mapping[tuple[str, str], bool], page: int) -> bool:
        """Whether this corpus gives `page` the answers a RecordedBoilerplate noted (then cleaning the
        same text again makes the same article)."""
        ask = {"label": lambda key: self.is_site_label(key), "drop": lambda key: self.drops_sentence(key, page),
               "counts": lambda _: self.counts_sentences()}
        return all(ask[kind](key) == answer for (kind, key), answer in answers.items())


@dataclass(frozen=True)
class RecordedBoilerplate(Boilerplate):
    """A Boilerplate that notes every answer it gives: all that one article's cleaning learnt from the
    rest of the corpus, so a rebuild can reuse the cleaned article while the answers stay the same."""

    answers: dict[tuple[str, str], bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.answers.setdefault(("counts", ""), bool(self.sentences))

    def is_site_label(self, key: str) -> bool:
        self.answers[("label", key)] = answer = super().is_site_label(key)
        return answer

    def drops_sentence(self, key: str, page: int) -> bool:
        if not self.sentences:  # the labels-only view: False whatever the corpus ("counts" is noted)
            return False
        self.answers[("drop", key)] = answer = super().drops_sentence(key, page)
        return answer

    def labels_only(self) -> Boilerplate:
        return RecordedBoilerplate(labels=self.labels, answers=self.answers)


def is_boilerplate(line: str, page_counts: Counter[str], corpus: Boilerplate, page: int = -1) -> bool:
    n = content_len(line)
    if n < 2:
        return True
    if any(m in line for m in NOTICE_MARKERS) and n <= 150:
        return True
    if n <= 60 and _WIDGET_RE.search(line) and not ends_sentence(line):
        return True
    if is_meta_line(line):
        return True
    key = fingerprint(line)
    if is_label(line):
        if any(m in line for m in LABEL_MARKERS) or page_counts[key] > 1 or corpus.is_site_label(key):
            return True
        if n <= 3:  # a bare place name or section tag ("时政", "墨尔本")
            return True
    return corpus.is_site_label(key) or corpus.drops_sentence(key, page)


def truncate_footer(lines: list[str]) -> list[str]:
    """Cut the page at the first footer marker that follows a real body."""
    body = 0
    for i, line in enumerate(lines):
        if body >= FOOTER_MIN_BODY and content_len(line) <= 60 and any(m in line for m in FOOTER_MARKERS):
            return lines[:i]
        body += content_len(line)
    return lines


def clean_text(text: str, corpus: Boilerplate | None = None, page: int = -1) -> CleanArticle:
    """Paragraph blocks of the article body; `corpus` is what repeats across the corpus and `page`
    this article's position in it."""
    corpus = corpus or Boilerplate()
    lines = [tidy(strip_pinyin(line)) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    date = find_date("\n".join(lines[:50]) if lines else "") or find_date(text)
    lines = truncate_footer([line for line in lines if line])
    page_counts = Counter(fingerprint(line) for line in lines if is_label(line))
    blocks = _body_blocks(lines, page_counts, corpus, page)
    if not blocks and corpus.counts_sentences():
        # every sentence is also on other pages: a syndicated copy. It keeps its text, and duplicate
        # passages are collapsed later with links to each copy, so no article of the archive goes empty.
        blocks = _body_blocks(lines, page_counts, corpus.labels_only(), page)
    return CleanArticle(blocks=blocks, title=_title(blocks), date=date)


def _body_blocks(lines: list[str], page_counts: Counter[str], corpus: Boilerplate, page: int) -> list[Block]:
    kept = [line for line in lines if not is_boilerplate(line, page_counts, corpus, page)]
    kept = [_drop_repeated_sentences(line, corpus, page) for line in kept]
    return assemble_blocks([line for line in kept if line])


def _drop_repeated_sentences(line: str, corpus: Boilerplate, page: int) -> str:
    if not corpus.counts_sentences() or is_label(line):
        return line
    sentences = split_sentences(line)
    kept = [s for s in sentences if not corpus.drops_sentence(fingerprint(s), page)]
    return line if len(kept) == len(sentences) else "".join(kept).strip()


def assemble_blocks(lines: list[str]) -> list[Block]:
    """Attach headline lines to the paragraph they introduce; drop repeats and echoed titles."""
    blocks: list[Block] = []
    seen: set[str] = set()
    pending: str | None = None
    for i, line in enumerate(lines):
        key = fingerprint(line)
        if key in seen:
            continue
        nxt = fingerprint(lines[i + 1]) if i + 1 < len(lines) else ""
        if nxt.startswith(key) and len(nxt) > len(key):
            continue  # the next paragraph repeats this line as its opening: keep the paragraph only
        if _is_heading(line):
            if pending and line[:1].islower():
                pending = f"{pending} {line}"  # a headline wrapped onto two lines
            else:
                pending = line
            continue
        seen.add(key)
        if pending and fingerprint(pending) in seen:
            pending = None
        blocks.append(Block(text=line, heading=pending))
        if pending:
            seen.add(fingerprint(pending))
        pending = None
    return blocks


def _is_heading(line: str) -> bool:
    """A headline: short (CJK characters + Latin words) and without any sentence end inside."""
    size = len(re.findall(r"[\u3400-\u9fff]", line)) + len(re.findall(r"[A-Za-z0-9]+", line))
    return size <= 40 and not any(ch in line for ch in "。！？!?") and not ends_sentence(line)


def _title(blocks: list[Block]) -> str | None:
    for block in blocks:
        if block.heading:
            return block.heading
        first = split_sentences(block.text)[0].strip()
        return first[:80]
    return None


def corpus_boilerplate(texts: Sequence[str], min_docs: int = 5) -> Boilerplate:
    """Labels seen on 2+ pages and, in corpora of 4 x `min_docs`+ pages, sentences seen on `min_docs`+
    pages with the first page that carries each.

    A label repeated across pages is site chrome. A full sentence on many pages is a site-wide notice
    or a wire story that several sites published: either way one copy stays in the index (on its first
    page) and the others go, so a notice does not crowd results and a news sentence never vanishes.
    """
    return boilerplate_of(map(page_keys, texts), len(texts), min_docs)


def page_keys(text: str) -> tuple[list[str], list[str]]:
    """The fingerprints corpus_boilerplate counts on one page: its label lines and its sentences."""
    lines = {tidy(line) for line in text.splitlines()}
    labels = {fingerprint(line) for line in lines if line and is_label(line)}
    sentences = {fingerprint(s) for line in lines if not is_label(line)
                 for s in split_sentences(line) if content_len(s) >= 10}
    return sorted(labels), sorted(sentences)


def boilerplate_of(pages: Iterable[tuple[list[str], list[str]]], n_pages: int, min_docs: int = 5) -> Boilerplate:
    """corpus_boilerplate from each page's page_keys, in page order."""
    count_sentences = n_pages >= 4 * min_docs  # too few pages to tell a notice from a quote
    labels: Counter[str] = Counter()
    sentences: Counter[str] = Counter()
    first: dict[str, int] = {}
    for page, (label_keys, sentence_keys) in enumerate(pages):
        labels.update(label_keys)
        if count_sentences:
            sentences.update(sentence_keys)
            for key in sentence_keys:
                first.setdefault(key, page)
    return Boilerplate(labels=frozenset(k for k, c in labels.items() if c >= 2 and k),
                       sentences={k: first[k] for k, c in sentences.items() if c >= min_docs})
