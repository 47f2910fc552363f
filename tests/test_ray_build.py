"""A build whose embedding runs on a real local Ray cluster equals a local build, and honours the cache."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from indexer import store
from indexer.config import IndexConfig
from indexer.embed import load_embedder
from indexer.pipeline import build_index

pytestmark = pytest.mark.slow
MODELS = ("use", "e5")


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    pytest.importorskip("ray", reason="the [ray] extra is part of `make test`'s install")
    ray_cli = str(Path(sys.executable).with_name("ray"))
    temp = tmp_path_factory.mktemp("ray")
    subprocess.run([ray_cli, "stop", "--force"], capture_output=True)
    started = subprocess.run([ray_cli, "start", "--head", "--num-cpus=2", "--include-dashboard=false",
                              "--disable-usage-stats", f"--temp-dir={temp}"], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    yield "auto"
    import ray

    ray.shutdown()
    subprocess.run([ray_cli, "stop", "--force"], capture_output=True)
    shutil.rmtree(temp, ignore_errors=True)


def _passages(index_dir: Path) -> list[tuple[str, str]]:
    with store.open_db(store.live_dir(index_dir)) as conn:
        rows = conn.execute("SELECT passage_id, text FROM passages ORDER BY row")
        return [(r["passage_id"], r["text"]) for r in rows]


def _vectors(index_dir: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    live = store.live_dir(index_dir)
    index = store.read_vectors(live, name)
    n = int(np.load(live / store.SENTENCE_OFFSETS)[-1])
    return index.reconstruct_n(0, index.ntotal), store.sentence_reader(live, name)(np.arange(n))


def test_a_ray_build_equals_a_local_build_and_reuses_its_cache(ray_cluster, tmp_path, messy_corpus):
    embedders = [load_embedder(m) for m in MODELS]
    local = IndexConfig(sources=(messy_corpus,), index_dir=tmp_path / "local", models=MODELS, show_progress=False)
    build_index(local, embedders)
    on_ray = dataclasses.replace(local, index_dir=tmp_path / "ray", ray=ray_cluster)
    summary = build_index(on_ray, embedders)
    assert summary.embedded == {"use": summary.passages, "e5": summary.passages}
    assert _passages(on_ray.index_dir) == _passages(local.index_dir)
    for name in MODELS:
        for ray_side, local_side in zip(_vectors(on_ray.index_dir, name), _vectors(local.index_dir, name)):
            np.testing.assert_allclose(ray_side, local_side, atol=1e-5 if ray_side.dtype == np.float32 else 0.02)

    (messy_corpus / "later.txt").write_text("格陵兰冰盖融化速度创下新的纪录，科学家发出警告。", encoding="utf-8")
    again = build_index(on_ray, embedders)
    assert again.passages == summary.passages + 1
    assert again.embedded == {"use": 1, "e5": 1}  # only the new passage went to the cluster


def test_workers_with_another_model_are_refused_before_any_batch(ray_cluster):
    from indexer.ray_embed import RayEncoder

    with pytest.raises(ValueError, match="Ray worker has model .*use-multilingual-v3.*the driver .*other-model"):
        RayEncoder(ray_cluster, "use", ("other-model", 512))


def test_a_worker_killed_mid_build_is_restarted_and_its_batches_are_not_lost(ray_cluster):
    import ray

    from indexer.ray_embed import RayEncoder
    from indexer.vectors import encode_batch

    local = load_embedder("use")
    encoder = RayEncoder(ray_cluster, "use", (local.model_id, local.dim))
    batches = [([f"第{i}批的第{j}条新闻：冰盖融化速度创下纪录。" for j in range(4)], [[], [], [], []])
               for i in range(12)]
    results = encoder.map(batches)
    got = [next(results)]
    for actor in encoder._actors:  # every worker dies while batches are queued or running
        ray.kill(actor, no_restart=False)
    got += list(results)
    encoder.close()
    assert len(got) == len(batches)
    for (texts, spans), blocks in zip(batches, got):
        np.testing.assert_allclose(np.vstack(blocks), np.vstack(encode_batch(local, texts, spans)), atol=1e-5)
