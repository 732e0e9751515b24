"""Reference transcripts for the CER metric.

Where an item's reference text comes from, first match wins (recorded per item as
``ref_source``):

1. ``transcripts`` — a transcripts file given in the configuration: a JSON object
   ``{"id": "text", ...}``, a CSV/TSV with a header naming ``id`` and ``text`` columns,
   or headerless ``id<TAB>text`` lines (Kaldi-style ``id text`` with a single space is
   accepted too when there is no tab). Keys are item ids (relative path without
   extension); a key that is just the file stem also matches. When a transcripts file
   is given, an item missing from it is an error for that item (mixing reference
   sources silently would make numbers incomparable);
2. ``manifest`` — the ``text`` column of the pairs manifest;
3. ``sidecar`` — a ``.txt`` or ``.lab`` file next to the gt audio with the same stem;
4. ``asr_gt`` — none of the above: the ASR transcript of the gt audio is the reference
   (the CER then measures agreement with the recogniser's reading of the gt, not
   correctness against a script).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from spatialeval.io.pairing import Pair

SIDECAR_EXTENSIONS = (".txt", ".lab")


class TranscriptError(ValueError):
    """A transcripts file that cannot be read, or an item without a reference."""


def _from_rows(rows: list[list[str]], path: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for number, row in rows:
        key, text = row[0].strip(), row[1] if len(row) > 1 else ""
        if not key:
            raise TranscriptError(f"{path}:{number}: empty id")
        if key in texts:
            raise TranscriptError(f"{path}:{number}: duplicate id {key!r}")
        texts[key] = text.strip()
    return texts


def load_transcripts(path: str | Path) -> dict[str, str]:
    """Read a transcripts file (JSON object, CSV/TSV with ``id``/``text`` header, or ``id<TAB>text``).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "t.tsv").write_text("utt1\\tHello there.\\nutt2\\t你好\\n", encoding="utf-8")
        >>> load_transcripts(folder / "t.tsv")
        {'utt1': 'Hello there.', 'utt2': '你好'}
    """
    path = Path(path)
    if not path.is_file():
        raise TranscriptError(f"{path}: transcripts file not found")
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            raise TranscriptError(f"{path}: invalid JSON ({exc.msg}, line {exc.lineno})") from exc
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise TranscriptError(f"{path}: expected a JSON object mapping id to text")
        return {str(k): v.strip() for k, v in data.items()}
    lines = [(n, line) for n, line in enumerate(content.splitlines(), 1) if line.strip()]
    if not lines:
        raise TranscriptError(f"{path}: no transcripts")
    delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    first = next(csv.reader([lines[0][1]], delimiter=delimiter))
    header = [h.strip().lower() for h in first]
    if "id" in header and "text" in header:
        id_col, text_col = header.index("id"), header.index("text")
        rows = []
        for n, fields in zip(
            (n for n, _ in lines[1:]), csv.reader([line for _, line in lines[1:]], delimiter=delimiter)
        ):
            if len(fields) <= max(id_col, text_col):
                raise TranscriptError(f"{path}:{n}: expected {len(header)} columns, got {len(fields)}")
            rows.append((n, [fields[id_col], fields[text_col]]))
        return _from_rows(rows, path)
    if delimiter == ",":
        raise TranscriptError(f"{path}: a CSV transcripts file needs a header with 'id' and 'text' columns")
    rows = []
    for n, line in lines:
        parts = line.split("\t", 1) if "\t" in line else line.split(" ", 1)
        if len(parts) < 2:
            raise TranscriptError(f"{path}:{n}: expected 'id<TAB>text'")
        rows.append((n, parts))
    return _from_rows(rows, path)


def sidecar_text(audio_path: str | Path) -> tuple[str, str] | None:
    """``(text, path)`` from a ``.txt``/``.lab`` file beside ``audio_path`` with the same stem, if any.

    Example:
        >>> sidecar_text("/nonexistent/utt.wav") is None
        True
    """
    audio_path = Path(audio_path)
    for extension in SIDECAR_EXTENSIONS:
        candidate = audio_path.with_suffix(extension)
        if candidate.is_file():
            try:
                return candidate.read_text(encoding="utf-8-sig").strip(), str(candidate)
            except UnicodeDecodeError as exc:
                raise TranscriptError(f"{candidate}: not UTF-8 text ({exc.reason})") from exc
    return None


def lookup(transcripts: dict[str, str], item_id: str) -> str | None:
    """The text for ``item_id``: exact id first, else its last path component (stem).

    Example:
        >>> lookup({"utt3": "hi"}, "spk1/utt3")
        'hi'
    """
    if item_id in transcripts:
        return transcripts[item_id]
    return transcripts.get(item_id.rsplit("/", 1)[-1])


def resolve_reference(
    pair: Pair, transcripts: dict[str, str] | None = None, transcripts_path: str | None = None
) -> tuple[str | None, str]:
    """``(text, source)`` for one pair; ``(None, "asr_gt")`` when the gt's ASR must serve.

    Example:
        >>> resolve_reference(Pair(id="a", gt="/x/a.wav", gen="/y/a.wav", text="Hello"))
        ('Hello', 'manifest')
        >>> resolve_reference(Pair(id="a", gt="/x/a.wav", gen="/y/a.wav"), {"a": "Hi"})
        ('Hi', 'transcripts')
    """
    if transcripts is not None:
        text = lookup(transcripts, pair.id)
        if text is None:
            where = transcripts_path or "the transcripts file"
            raise TranscriptError(f"{pair.gt}: item {pair.id!r} has no entry in {where}")
        return text, "transcripts"
    if pair.text is not None:
        return pair.text, "manifest"
    found = sidecar_text(pair.gt)
    if found is not None:
        return found[0], "sidecar"
    return None, "asr_gt"
