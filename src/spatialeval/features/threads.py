"""Thread settings that keep results bit-identical whatever the machine's core count or load.

PyTorch splits an element-wise CPU kernel into one chunk per thread, and each chunk ends in a
scalar tail loop whose transcendental functions (``atan2``, ``log10``) can differ from the
vectorised ones in the last bit. The cut points move with the thread count, so the same clip
could give IPD maps differing at 1e-9 under ``--jobs 2`` (one thread per worker) and a plain run.
The feature extractors are cheap next to the encoder, so they run on one intra-op thread.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def single_threaded():
    """Run the body with one PyTorch intra-op thread, restoring the previous count afterwards.

    Example:
        >>> before = torch.get_num_threads()
        >>> with single_threaded():
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    previous = torch.get_num_threads()
    if previous != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if previous != 1:
            torch.set_num_threads(previous)
