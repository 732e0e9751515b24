"""Streaming building blocks for long binaural clips: block-wise resampling, framing and lagged sums.

Each keeps only a bounded amount of audio in memory and gives results that do not depend on
how the stream was cut into blocks (bit-identical to processing the whole clip at once,
except :class:`LagSums`, which sums over fixed segments: exact up to the rounding of those sums).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

# polyphase_output_length is defined beside the resampler it describes and stays importable from here
from spatialeval.features.polyphase import polyphase_output_length, resample_poly

__all__ = ["Framer", "LagSums", "next_pow2", "polyphase_output_length", "resampled_blocks"]


def resampled_blocks(x: np.ndarray, sr_in: int, sr_out: int, block_out: int) -> Iterator[np.ndarray]:
    """Consecutive float64 blocks of ``resample_poly(x, sr_out, sr_in)``, bit-identical to the one-shot call.

    Each block is resampled from the input slice it needs plus a margin of whole
    ``down``-sample periods (longer than the filter's half length), then trimmed; the
    polyphase filter depends only on the rate ratio, so interior samples are computed with
    exactly the same operations as in the whole-signal call.
    """
    if sr_in == sr_out:
        for start in range(0, x.shape[0], block_out):
            yield np.asarray(x[start : start + block_out], dtype=np.float64)
        return
    divisor = math.gcd(sr_in, sr_out)
    up, down = sr_out // divisor, sr_in // divisor
    half_len = 10 * max(up, down)  # scipy.signal.resample_poly's default filter half length
    margin = -(-(-(-half_len // up) + 2) // down)  # in periods of `down` input samples
    n_in = x.shape[0]
    n_out = polyphase_output_length(n_in, up, down)
    step = max(1, block_out // up)  # output block = step · up samples
    period = 0
    while period * up < n_out:
        first = max(0, period - margin)
        a, b = first * down, min(n_in, (period + step + margin) * down)
        local = resample_poly(np.asarray(x[a:b], dtype=np.float64), up, down, axis=0)
        offset = (period - first) * up
        count = min((period + step) * up, n_out) - period * up
        yield local[offset : offset + count]
        period += step


class Framer:
    """Cuts a stream of (n, 2) blocks into frames ``x[i·hop : i·hop + length]`` (only complete frames).

    :meth:`push` returns ``(count, length, 2)`` arrays, or ``(length, count, 2)`` with ``time_major``: the
    same values laid out so that sums over a frame's samples (or an FFT's bins) run over the outer
    axis, one contiguous row of ``count × 2`` values at a time, instead of two values at a time.
    """

    def __init__(self, length: int, hop: int, *, time_major: bool = False):
        self.length, self.hop, self.time_major = length, hop, time_major
        self.buffer = np.zeros((0, 2))

    def push(self, block: np.ndarray) -> np.ndarray:
        buffer = np.concatenate([self.buffer, block]) if self.buffer.size else block
        if buffer.shape[0] < self.length:
            self.buffer = buffer
            return np.zeros((self.length, 0, 2) if self.time_major else (0, self.length, 2))
        count = (buffer.shape[0] - self.length) // self.hop + 1
        view = np.lib.stride_tricks.sliding_window_view(buffer, self.length, axis=0)[:: self.hop][:count]
        frames = np.ascontiguousarray(view.transpose((2, 0, 1) if self.time_major else (0, 2, 1)))
        self.buffer = buffer[count * self.hop :].copy()
        return frames


class LagSums:
    """Accumulates Σ_t l(t)·r(t+τ), |τ| ≤ K, and Σ l², Σ r² over a stream of (n, 2) blocks.

    Sums are taken over fixed segments of ``SEGMENT`` samples at absolute positions, so the
    result does not depend on how the stream was cut into blocks. :meth:`centred` gives the
    same sums for the clip with its mean (DC) removed, from the sums, the first and the last
    K samples.
    """

    SEGMENT = 1 << 16

    def __init__(self, max_lag: int):
        self.max_lag = max_lag
        self.sums = np.zeros(2 * max_lag + 1)
        self.energy = np.zeros(2)
        self.before = np.zeros((0, 2))  # up to K samples preceding the pending ones
        self.pending = np.zeros((0, 2))  # samples not yet summed (from a segment boundary on)
        self.total = np.zeros(2)  # Σ l, Σ r
        self.count = 0
        self.head = np.zeros((0, 2))  # the first K samples

    def push(self, block: np.ndarray) -> None:
        self.pending = np.concatenate([self.pending, block]) if self.pending.size else block
        while self.pending.shape[0] >= self.SEGMENT + self.max_lag:
            self._segment(self.SEGMENT)

    def finish(self) -> None:
        while self.pending.shape[0]:
            self._segment(min(self.SEGMENT, self.pending.shape[0]))

    def _segment(self, count: int) -> None:
        k = self.max_lag
        segment = self.pending[:count]
        after = self.pending[count : count + k, 1]
        before = self.before[-k:, 1] if k else self.before[:0, 1]
        # r over [start − K, start + count + K), zero outside the signal; l placed at offset K.
        right = np.zeros(count + 2 * k)
        right[k - before.shape[0] : k] = before
        right[k : k + count] = segment[:, 1]
        right[k + count : k + count + after.shape[0]] = after
        # Σ_t l(t)·r(t + τ) for each of the 2K + 1 lags directly (pairwise sums, no BLAS): K is a few dozen,
        # far cheaper than an FFT correlation of the whole segment, and without its rounding.
        left = np.ascontiguousarray(segment[:, 0])
        self.sums += np.array([np.add.reduce(left * right[index : index + count]) for index in range(2 * k + 1)])
        self.energy += np.sum(segment**2, axis=0)
        self.total += np.sum(segment, axis=0)
        if self.head.shape[0] < k:
            self.head = np.concatenate([self.head, segment[: k - self.head.shape[0]]])
        self.count += count
        self.before = np.concatenate([self.before, segment])[-k:] if k else self.before
        self.pending = self.pending[count:]

    def centred(self) -> tuple[np.ndarray, np.ndarray]:
        """(lagged sums, energies) of the mean-removed clip: Σ (l − l̄)(r − r̄) over the valid t of each lag."""
        k, n = self.max_lag, self.count
        if n <= 2 * k:
            return self.sums.copy(), self.energy.copy()
        mean = self.total / n
        tail = self.before  # the last K samples once finished
        sums = self.sums.copy()
        for index, lag in enumerate(range(-k, k + 1)):
            left = (
                self.total[0]
                - (self.head[:-lag, 0].sum() if lag < 0 else 0.0)
                - (tail[k - lag :, 0].sum() if lag > 0 else 0.0)
            )  # Σ l(t) over t with t + τ inside
            right = (
                self.total[1]
                - (self.head[:lag, 1].sum() if lag > 0 else 0.0)
                - (tail[k + lag :, 1].sum() if lag < 0 else 0.0)
            )  # Σ r(t + τ) over the same t
            sums[index] += (n - abs(lag)) * mean[0] * mean[1] - mean[1] * left - mean[0] * right
        return sums, np.maximum(self.energy - n * mean**2, 0.0)


def next_pow2(n: int) -> int:
    return 1 << max(0, int(n - 1).bit_length())
