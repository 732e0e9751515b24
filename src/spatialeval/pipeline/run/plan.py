"""Which pairs a run evaluates: the pairing of the inputs, then this shard's slice of it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from spatialeval.io.pairing import Pair, PairingResult, find_pairs


def plan_pairs(
    gt: str | Path, gen: str | Path | None, pairs: list[Pair] | None, shard: str | None, allow_partial: bool
) -> tuple[list[Pair], PairingResult | None]:
    """The pairs of this run (``pairs`` when given, else paired from ``gt``/``gen``), sliced to ``shard``.

    Returns the pairs and the pairing (None when ``pairs`` was given): what it left out goes in the summary.
    """
    pairing = None
    if pairs is None:
        pairing = find_pairs(gt, gen, allow_partial=allow_partial)
        pairs = pairing.pairs
    return shard_pairs(pairs, shard), pairing


def shard_pairs(pairs: list[Pair], shard: str | None) -> list[Pair]:
    """The K-th of N slices (``"K/N"``, 1-based), by a stable hash of the id: adding items never moves others."""
    if not shard:
        return pairs
    try:
        k, n = (int(v) for v in shard.split("/"))
    except ValueError:
        raise ValueError(f"--shard must look like K/N (e.g. 2/8), got {shard!r}") from None
    if not 1 <= k <= n:
        raise ValueError(f"--shard {shard}: K must be between 1 and N")
    return [p for p in pairs if int(hashlib.sha1(p.id.encode()).hexdigest(), 16) % n == k - 1]
