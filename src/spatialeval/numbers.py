"""Numbers read back from result files and printed in tables: one parser and one formatter.

``report`` and ``check`` both read metric values from ``summary.json``/``metrics.jsonl`` (where a
missing value is ``null``, and some writers store non-finite values as strings) and print them in
tables and messages. Both use these two functions, so a value reads and prints the same way in
either. The module sits below every layer (like :mod:`spatialeval.errors`): it imports nothing.
"""

from __future__ import annotations

import math
from typing import Any

#: What a table shows for a value that is absent, null or not finite.
MISSING = "—"
#: The strings that spell a non-finite float (what ``float()`` reads besides ordinary numbers).
NONFINITE_WORDS = ("nan", "inf", "-inf", "infinity", "-infinity")


def parse_number(value: Any, *, strings: str = "any", default: float | None = None) -> float | None:
    """``value`` as a float, or ``default`` when it is not a number.

    ``None`` and booleans are not numbers (a JSON ``true`` is no metric value); ints and floats are (NaN
    kept). A string is read with ``float()`` when ``strings="any"`` (command-line values, hand-written
    files), and only when it spells a non-finite value (``"nan"``, ``"inf"``, …) with
    ``strings="nonfinite"`` (the one string form a summary may hold a metric in).

    Args:
        value: a value read from JSON, YAML or the command line.
        strings: ``"any"`` or ``"nonfinite"``, the strings taken as numbers.
        default: returned for anything that is not a number (e.g. ``math.nan`` for a mean).

    Example:
        >>> parse_number(3), parse_number("0.5"), parse_number(None), parse_number(True)
        (3.0, 0.5, None, None)
        >>> parse_number("0.5", strings="nonfinite"), parse_number(" NaN ", strings="nonfinite")
        (None, nan)
        >>> parse_number("n/a", default=math.nan)
        nan
    """
    if value is None or isinstance(value, bool):
        return default
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and strings == "nonfinite":
        return float(value.strip()) if value.strip().lower() in NONFINITE_WORDS else default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def format_number(value: Any, digits: int = 4, *, signed: bool = False) -> str:
    """``value`` for a table cell or a message.

    ``None`` and non-finite floats print as :data:`MISSING`; booleans and ints as written; other floats
    with ``digits`` significant digits (``format(value, ".4g")``; ``signed`` adds ``+`` to positive ones);
    anything else (a text setting) as ``str(value)``.

    Example:
        >>> format_number(0.0123456), format_number(0.0123456, 6), format_number(2.5e-7, signed=True)
        ('0.01235', '0.0123456', '+2.5e-07')
        >>> format_number(None), format_number(float("nan")), format_number(12), format_number("greedy")
        ('—', '—', '12', 'greedy')
    """
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:+d}" if signed else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return MISSING
        return f"{value:{'+' if signed else ''}.{digits}g}"
    return str(value)
