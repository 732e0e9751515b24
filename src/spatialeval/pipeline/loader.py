"""Producer side of the pipeline: pairs decoded ahead of the metrics, in chunks.

``workers == 0``: one background thread decodes the next chunk while the current one is computed
(soundfile and hashing release the GIL). ``workers > 0``: a ``torch.utils.data.DataLoader`` over the
pairs with that many worker *processes* (spawned, never forked: forking a process whose torch/OpenMP
threads run can deadlock), two chunks in flight per worker. A pair that cannot be decoded arrives as
its exception, recorded against that item only. Stages copy to the device from page-locked memory
(see :func:`spatialeval.pipeline.device.to_device`).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from spatialeval.io.audio import load_audio
from spatialeval.io.pairing import Pair
from spatialeval.models.local_hf import batched
from spatialeval.pipeline.stages.base import LoadedPair

MIN_CLIP_SECONDS = 0.02  # shorter clips cannot hold one 1024-point STFT frame at 32 kHz


def load_pair(pair: Pair) -> LoadedPair | Exception:
    """Both sides of ``pair`` decoded and validated, or the exception saying why not."""
    try:
        return LoadedPair(
            pair=pair,
            gt=load_audio(pair.gt, min_seconds=MIN_CLIP_SECONDS),
            gen=load_audio(pair.gen, min_seconds=MIN_CLIP_SECONDS),
        )
    except Exception as exc:
        return exc


def _thread_chunks(pairs: list[Pair], chunk_size: int) -> Iterator[tuple[list[Pair], list]]:
    chunks = list(batched(pairs, chunk_size))
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = [pool.submit(load_pair, p) for p in chunks[0]] if chunks else []
        for index, chunk in enumerate(chunks):
            loaded = [future.result() for future in upcoming]
            if index + 1 < len(chunks):  # decode the next chunk while this one is computed
                upcoming = [pool.submit(load_pair, p) for p in chunks[index + 1]]
            yield chunk, loaded


class _PairDataset:
    """A map-style dataset of pairs for the DataLoader (each item: the decoded pair or its exception)."""

    def __init__(self, pairs: list[Pair]):
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int):
        return load_pair(self.pairs[index])


def _as_list(batch):
    return list(batch)


def _limit_worker_threads(_worker_id: int) -> None:
    import torch

    torch.set_num_threads(1)  # decoding workers must not compete with the encoder's intra-op threads


def _process_chunks(pairs: list[Pair], chunk_size: int, workers: int) -> Iterator[tuple[list[Pair], list]]:
    import multiprocessing

    from torch.utils.data import DataLoader

    loader = DataLoader(
        _PairDataset(pairs),
        batch_size=chunk_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=_as_list,
        prefetch_factor=2,
        persistent_workers=False,
        multiprocessing_context=multiprocessing.get_context("spawn"),
        worker_init_fn=_limit_worker_threads,
    )
    for chunk, loaded in zip(batched(pairs, chunk_size), loader):
        yield chunk, loaded


def iterate_chunks(pairs: list[Pair], chunk_size: int, workers: int = 0) -> Iterator[tuple[list[Pair], list]]:
    """``(pairs, decoded pairs or exceptions)`` per chunk, in order, decoded ahead of the consumer."""
    chunk_size = max(1, int(chunk_size))
    if not pairs:
        return iter(())
    if workers > 0 and len(pairs) > chunk_size:  # a single chunk is not worth starting processes for
        return _process_chunks(pairs, chunk_size, int(workers))
    return _thread_chunks(pairs, chunk_size)
