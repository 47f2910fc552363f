"""Embedding batches on a Ray cluster: a pool of actors, each loading its model once, fed the same batches
as a local build (so the vectors are the same), results back in order on the driver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

Batch = tuple[list[str], list[list[tuple[int, int]]]]  # texts, and each text's sentence spans (may be [])

RETRIES = 3  # a batch whose worker died is run again this often (on a restarted actor) before the build fails


class _Worker:
    """Runs inside a Ray actor: the model is loaded once, when the actor starts."""

    def __init__(self, spec: str, threads: int) -> None:
        from indexer.embed import load_embedder

        self.embedder = load_embedder(spec, threads)

    def identity(self) -> tuple[str, int]:
        return self.embedder.model_id, self.embedder.dim

    def encode(self, batch: Batch) -> list[np.ndarray]:
        from indexer.vectors import encode_batch

        return encode_batch(self.embedder, *batch)


class RayEncoder:
    """`map(batches)` over a pool of actors on the cluster at `address` ('auto' = the running local one)."""

    def __init__(self, address: str, spec: str, expected: tuple[str, int], threads: int = 1) -> None:
        import ray
        from ray.util import ActorPool

        import indexer

        if not ray.is_initialized():
            # the driver's own copy of this package goes to the workers: they run the same code
            ray.init(address=address, log_to_driver=False,
                     runtime_env={"py_modules": [str(Path(indexer.__file__).parent)]})
        cpus = int(ray.cluster_resources().get("CPU", 1))
        count = max(1, cpus // threads)
        remote: Any = ray.remote(num_cpus=threads, max_restarts=-1, max_task_retries=RETRIES)(_Worker)
        self._actors: list[Any] = [remote.remote(spec, threads) for _ in range(count)]
        for found in ray.get([a.identity.remote() for a in self._actors]):
            if tuple(found) != expected:  # a worker with another version of the model would mix vectors
                self.close()
                raise ValueError(f"Ray worker has model {found}, the driver {expected}: install the same "
                                 "packages on every node")
        self._pool = ActorPool(self._actors)

    def map(self, batches: list[Batch]) -> Iterator[list[np.ndarray]]:
        """Each batch's blocks, in the order given; a worker that dies is restarted and its batch retried,
        and a batch that fails RETRIES times fails the build (never silently dropped)."""
        return self._pool.map(lambda actor, batch: actor.encode.remote(batch), batches)

    def close(self) -> None:
        import ray

        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
