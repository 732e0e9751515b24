"""Comparing result rows computed along two code paths: text exactly, numbers within float32 rounding.

Two arrangements of the same work (another batch composition, thread count, block size) may sum
float32 values in another order and move a result by a few ulps. ``RTOL`` = 2**-16 (128 float32
epsilons) is far above that and far below any real effect; ``ATOL`` covers values at zero. Byte
identity is asserted only where it holds by construction: the same computation run twice.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

RTOL = 2.0**-16
ATOL = 1e-9


def differences(a, b, where: str = "") -> list[str]:
    """Where ``a`` and ``b`` (nested dicts/lists of numbers and text) differ beyond float32 rounding."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = [f"{where}.{k}: only in one" for k in sorted(set(a) ^ set(b), key=str)]
        for key in sorted(set(a) & set(b), key=str):
            found += differences(a[key], b[key], f"{where}.{key}")
        return found
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{where}: lengths {len(a)} vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{where}[{i}]")]
    numbers = (int, float, np.floating, np.integer)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        if math.isnan(a) and math.isnan(b):
            return []
        return [] if math.isclose(float(a), float(b), rel_tol=RTOL, abs_tol=ATOL) else [f"{where}: {a!r} vs {b!r}"]
    if (a is None and isinstance(b, float) and math.isnan(b)) or (b is None and isinstance(a, float) and math.isnan(a)):
        return []
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


def jsonl_rows(path: Path) -> dict[str, dict]:
    return {row["id"]: row for row in map(json.loads, Path(path).read_text(encoding="utf-8").splitlines())}


def assert_same_rows(a: Path, b: Path) -> None:
    """Two ``items.jsonl`` files hold the same ids in the same order, with equal rows (see ``differences``)."""
    rows_a, rows_b = jsonl_rows(a), jsonl_rows(b)
    assert list(rows_a) == list(rows_b)
    found = differences(rows_a, rows_b)
    assert not found, "\n".join(found)
