import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.chunk import chunk_blocks, passage_id, passage_sentences, sentence_spans, split_paragraph
from indexer.clean import Block

LONG_ZH = "".join(f"这是第{i}个句子，内容关于太平洋岛国的警务合作与发展。" for i in range(40))
LONG_EN = " ".join(f"This is sentence number {i} about police cooperation in the Pacific." for i in range(30))


@pytest.mark.parametrize("text", [LONG_ZH, LONG_EN])
@pytest.mark.parametrize("max_chars", [120, 400])
def test_split_paragraph_respects_limit_and_sentence_ends(text, max_chars):
    pieces = split_paragraph(text, max_chars)
    assert all(len(p) <= max_chars for p in pieces)
    assert all(p.endswith(("。", ".")) for p in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
    # balanced: no tiny tail piece
    assert min(len(p) for p in pieces) > max_chars / 4


def test_overlong_sentence_is_cut_at_clauses():
    sentence = "，".join(["一个很长的分句"] * 80) + "。"
    pieces = split_paragraph(sentence, 100)
    assert all(len(p) <= 100 for p in pieces)
    assert "".join(pieces) == sentence


def test_chunk_blocks_attaches_heading_and_keeps_positions():
    blocks = [Block("斐济决定恢复与中国的警务合作。", heading="警务合作"), Block(LONG_ZH)]
    passages = chunk_blocks("doc", blocks, max_chars=200)
    assert passages[0].text == "警务合作\n斐济决定恢复与中国的警务合作。"
    assert [p.position for p in passages] == list(range(len(passages)))
    assert all(p.doc_id == "doc" for p in passages)
    assert passages[0].lang == "zh-Hans"


def test_stray_short_line_joins_previous_passage():
    passages = chunk_blocks("doc", [Block("斐济决定恢复与中国的警务合作，两国将决定如何执行协议。"), Block("(外交部)")])
    assert len(passages) == 1 and passages[0].text.endswith("(外交部)")


def test_passage_id_is_script_and_punctuation_insensitive():
    assert passage_id("聯合國維和行動。") == passage_id("联合国 维和行动")
    assert passage_id("联合国") != passage_id("维和行动")


@pytest.mark.parametrize("text, sentences", [
    ("一句话。", []),  # one sentence: its passage vector is its sentence vector
    ("斐济决定恢复与中国的警务合作。斐济警察将到中国接受培训和指导。",
     ["斐济决定恢复与中国的警务合作。", "斐济警察将到中国接受培训和指导。"]),
    ("短句。斐济决定恢复与中国的警务合作。斐济警察将到中国接受培训。",
     ["短句。斐济决定恢复与中国的警务合作。", "斐济警察将到中国接受培训。"]),  # a fragment joins its neighbour
    ("Fiji resumed police cooperation with China. Officers will train there.",
     ["Fiji resumed police cooperation with China.", "Officers will train there."]),
    ("警务合作\n斐济决定恢复与中国的警务合作。  斐济警察将到中国接受培训和指导。",
     ["警务合作斐济决定恢复与中国的警务合作。", "斐济警察将到中国接受培训和指导。"]),
])
def test_sentence_spans_locate_the_sentence_units(text, sentences):
    assert passage_sentences(text) == sentences
    spans = sentence_spans(text)
    assert len(spans) == len(sentences)
    assert [text[a:b].replace("\n", "") for a, b in spans] == sentences


@pytest.mark.parametrize("heading_len", [1, 348, 349, 350, 351, 399, 400, 450, 900])
def test_a_heading_never_pushes_a_passage_past_max_chars(heading_len):
    heading = "警" * heading_len
    passages = chunk_blocks("doc", [Block(LONG_ZH, heading=heading)], max_chars=400)
    assert all(len(p.text) <= 400 for p in passages)
    assert "".join(p.text for p in passages).replace("\n", "") == heading + LONG_ZH  # nothing lost


# CJK, Latin, digits, spaces and newlines, with and without sentence or clause ends
ALPHABET = st.sampled_from(list("斐济警务合作中国abcXYZ019 \n，,；。.!?…\u3000") + ["alpha ", "合作"])
TEXT = st.lists(ALPHABET, max_size=600).map("".join)
UNBROKEN = st.builds(lambda ch, n: ch * n, st.sampled_from(["警", "x", "9", " "]), st.integers(0, 1500))
BLOCK = st.builds(Block, st.one_of(TEXT, UNBROKEN),
                  st.one_of(st.none(), st.lists(ALPHABET, max_size=500).map("".join), UNBROKEN))


@settings(max_examples=300, deadline=None)
@given(blocks=st.lists(BLOCK, min_size=1, max_size=5), max_chars=st.integers(50, 500),
       min_chars=st.integers(0, 49))
def test_no_passage_exceeds_max_chars(blocks, max_chars, min_chars):
    for passage in chunk_blocks("doc", blocks, max_chars=max_chars, min_chars=min_chars):
        assert len(passage.text) <= max_chars


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(TEXT, UNBROKEN), max_chars=st.integers(50, 500))
def test_split_paragraph_never_exceeds_max_chars(text, max_chars):
    assert all(len(piece) <= max_chars for piece in split_paragraph(text, max_chars))
