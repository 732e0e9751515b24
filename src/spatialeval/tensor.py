"""Deprecated alias of :mod:`spatialeval.training` (the batched tensor metrics for training loops).

The module was renamed by its role; ``import spatialeval.tensor`` keeps working and warns once.
"""

from __future__ import annotations

import warnings

from spatialeval.training import *  # noqa: F403 (the alias re-exports the whole public API)
from spatialeval.training import PROTOCOLS, __all__  # noqa: F401 (names old callers read from here)

warnings.warn(
    "spatialeval.tensor is renamed spatialeval.training; the old name will be removed",
    DeprecationWarning,
    stacklevel=2,
)
