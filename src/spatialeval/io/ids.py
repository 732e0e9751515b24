"""Item ids and the per-item files named after them.

An item id is a relative, ``/``-separated name (``spk1/utt3``). It becomes part of file names
under the output directory (``--save-embeddings``, report images), is printed in tables and is
stored in ``items.jsonl``/``items.csv``, so one rule applies everywhere:

* non-empty, not absolute (no leading ``/``), no ``\\`` (a path separator on Windows);
* no empty, ``.`` or ``..`` component, so a file named after the id always stays below
  the directory the user named;
* no control characters and no line or paragraph separators (U+2028/U+2029, U+0085):
  they break line-oriented files and terminals.

Anything else (spaces, Unicode letters, punctuation) is kept as is.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from spatialeval.errors import UsageError


class ItemIdError(UsageError):
    """An item id that cannot name a file safely; the message says which rule it breaks."""


def id_problem(item_id: object) -> str | None:
    """Why ``item_id`` is not a usable id, or None when it is.

    Example:
        >>> id_problem("spk1/utt 3"), id_problem("../x"), id_problem("/abs/x")
        (None, "has a '..' component", 'is an absolute path')
        >>> id_problem("a\\rb")
        'contains the control character U+000D'
    """
    if not isinstance(item_id, str):
        return f"is a {type(item_id).__name__}, not text"
    if not item_id:
        return "is empty"
    for ch in item_id:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            return f"contains the control character U+{ord(ch):04X}"
    if item_id.startswith("/"):
        return "is an absolute path"
    if "\\" in item_id:
        return "contains a backslash"
    for part in item_id.split("/"):
        if part == "":
            return "has an empty path component"
        if part in (".", ".."):
            return f"has a {part!r} component"
    return None


def check_item_id(item_id: object, where: str = "") -> str:
    """Return ``item_id`` if it is usable (see the module rules), else raise :class:`ItemIdError`."""
    problem = id_problem(item_id)
    if problem:
        prefix = f"{where}: " if where else ""
        raise ItemIdError(
            f"{prefix}item id {item_id!r} {problem}; ids name files under the output directory, "
            "so they must be relative names without '..', control characters or backslashes"
        )
    return item_id  # type: ignore[return-value]


def item_file(root: str | os.PathLike, item_id: str, suffix: str) -> Path:
    """The path ``root/<item_id><suffix>``, guaranteed to lie below ``root``.

    Example:
        >>> item_file("/out/embeddings", "spk1/utt3", ".npz").as_posix()
        '/out/embeddings/spk1/utt3.npz'
    """
    check_item_id(item_id)
    root = Path(root)
    path = root.joinpath(*item_id.split("/"))
    path = path.with_name(path.name + suffix)
    # Defence in depth against symlinked folders inside root pointing elsewhere is not attempted:
    # the id rule already keeps the lexical path below root.
    if os.path.commonpath([os.path.abspath(path), os.path.abspath(root)]) != os.path.abspath(root):
        raise ItemIdError(f"item id {item_id!r} would write outside {root}")
    return path
