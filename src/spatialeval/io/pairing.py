"""Matching ground-truth files with generated files.

Two sources of pairs:

* two directory trees, matched recursively by relative path and stem, so
  ``gt/spk1/utt3.wav`` pairs with ``gen/spk1/utt3.flac``; symbolic links to folders are
  followed (a link back into a folder already visited is skipped, so loops end);
* a manifest (CSV/TSV with a header, or JSONL with one object per line) with columns ``id``,
  ``gt``, ``gen`` (``infer`` is accepted for it, the folder name of ISDrama's released code) and optionally ``text`` (reference transcript) and ``prompt`` (speaker
  prompt audio). Relative paths are resolved against the manifest's folder; absolute paths
  and paths leading outside that folder (``../``) are accepted as given and counted in
  :attr:`PairingResult.outside_manifest`. Every path is recorded resolved (absolute).
  A UTF-8 byte-order mark is accepted; quoted CSV fields may span lines.

An item's ``id`` is its relative path without extension, with ``/`` separators (a manifest
may give its own). Ids follow the rules of :mod:`spatialeval.io.ids`; an id that breaks them
is refused with a message naming it.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf

from spatialeval.errors import UsageError
from spatialeval.io.ids import id_problem
from spatialeval.names import MANIFEST_ALIASES, note_renamed

# Everything libsndfile can decode, by extension (lower case, without the dot).
AUDIO_EXTENSIONS = frozenset(ext.lower() for ext in sf.available_formats()) | {"oga", "opus", "aif"}
MANIFEST_COLUMNS = ("id", "gt", "gen", "text", "prompt")


class PairingError(UsageError):
    """The gt and gen sides do not match, or the manifest is malformed."""


@dataclass(frozen=True)
class Pair:
    id: str
    gt: str
    gen: str
    text: str | None = None
    prompt: str | None = None

    @property
    def infer(self) -> str:
        """Deprecated name of :attr:`gen` (read with a note; see :mod:`spatialeval.names`)."""
        note_renamed("Pair.infer", "Pair.gen", "a caller")
        return self.gen


@dataclass
class PairingResult:
    pairs: list[Pair]
    only_gt: list[str] = field(default_factory=list)
    only_gen: list[str] = field(default_factory=list)
    outside_manifest: list[str] = field(default_factory=list)  # ids whose files lie outside the manifest's folder

    @property
    def left_out(self) -> dict[str, list[str]]:
        return {"only_gt": self.only_gt, "only_gen": self.only_gen}


def _is_audio(path: Path) -> bool:
    return path.is_file() and path.suffix[1:].lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


def _walk_files(root: Path):
    """Every file below ``root``, following symbolic links to folders once (loops are cut)."""
    seen: set[str] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a link back into a folder already walked
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in files:
            yield Path(folder) / name


def index_audio_tree(root: Path) -> dict[str, Path]:
    """Map item id (relative path without extension) to file, refusing ambiguous stems and unusable ids."""
    if not root.is_dir():
        raise PairingError(f"{root}: not a directory")
    index: dict[str, Path] = {}
    bad: list[str] = []
    for path in sorted(_walk_files(root)):
        if not _is_audio(path):
            continue
        item_id = path.relative_to(root).with_suffix("").as_posix()
        problem = id_problem(item_id)
        if problem:
            bad.append(f"  {str(path)!r}: its id {problem}")
            continue
        if item_id in index:
            raise PairingError(f"{root}: two files share the id {item_id!r}: {index[item_id].name} and {path.name}")
        index[item_id] = path
    if bad:
        raise PairingError(
            f"{root}: {len(bad)} file name(s) cannot be used as item ids (rename them):\n" + "\n".join(bad[:20])
        )
    return index


def _settle(
    pairs: list[Pair], only_gt: list[str], only_gen: list[str], allow_partial: bool, where: str
) -> PairingResult:
    if (only_gt or only_gen) and not allow_partial:
        lines = [f"{where}: {len(only_gt) + len(only_gen)} file(s) have no partner"]
        lines += [f"  gt without gen: {i}" for i in only_gt[:50]]
        lines += [f"  gen without gt: {i}" for i in only_gen[:50]]
        if len(only_gt) > 50 or len(only_gen) > 50:
            lines.append("  ... (list cut at 50 per side)")
        lines.append("  pass --allow-partial to evaluate the matched pairs only")
        raise PairingError("\n".join(lines))
    if not pairs:
        raise PairingError(f"{where}: no pairs to evaluate")
    return PairingResult(pairs=pairs, only_gt=only_gt, only_gen=only_gen)


def pair_directories(gt_dir: str | Path, gen_dir: str | Path, *, allow_partial: bool = False) -> PairingResult:
    """Pair audio files under ``gt_dir`` and ``gen_dir`` by relative path and stem."""
    gt_index, gen_index = index_audio_tree(Path(gt_dir)), index_audio_tree(Path(gen_dir))
    common = sorted(set(gt_index) & set(gen_index))
    pairs = [Pair(id=i, gt=str(gt_index[i]), gen=str(gen_index[i])) for i in common]
    only_gt = sorted(set(gt_index) - set(gen_index))
    only_gen = sorted(set(gen_index) - set(gt_index))
    return _settle(pairs, only_gt, only_gen, allow_partial, f"{gt_dir} vs {gen_dir}")


def _read_manifest_rows(path: Path) -> list[tuple[int, dict]]:
    """``(line number, row)`` of a JSONL or CSV/TSV manifest, validated for shape (not content)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark is not part of the first column name
    except UnicodeDecodeError as exc:
        raise PairingError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        rows = []
        for number, line in enumerate(text.split("\n"), 1):  # JSON escapes newlines; U+2028 inside a value is data
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise PairingError(f"{path}:{number}: invalid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise PairingError(f"{path}:{number}: expected a JSON object with gt and gen, got {type(row).__name__}")
            rows.append((number, row))
        return rows
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip() if isinstance(name, str) else name for name in (reader.fieldnames or [])]
    missing = [column for column in ("gt", "gen") if column not in _with_aliases(header)]
    if missing:
        raise PairingError(
            f"{path}: the header must name the columns gt and gen (or infer) "
            f"(found: {', '.join(map(repr, header)) or 'nothing'})"
        )
    reader.fieldnames = header
    rows = []
    for row in reader:
        if None in row:  # more fields than header columns
            raise PairingError(f"{path}:{reader.line_num}: more fields than the header has columns")
        rows.append((reader.line_num, row))
    return rows


def _with_aliases(columns) -> set:
    """Column names with each alias (``infer``) also counted under its name (``gen``)."""
    return set(columns) | {MANIFEST_ALIASES[c] for c in columns if c in MANIFEST_ALIASES}


def _aliased(row: dict, where: str) -> dict:
    """The row with an alias column (``infer``) read as its name (``gen``); both at once is ambiguous."""
    for alias, name in MANIFEST_ALIASES.items():
        if alias in row:
            if row.get(name) not in (None, "") and row.get(alias) not in (None, ""):
                raise PairingError(f"{where}: both {name} and {alias} given; {alias} is another name for {name}")
            row = {**{k: v for k, v in row.items() if k != alias}, name: row.get(name) or row[alias]}
    return row


def _field(row: dict, key: str, where: str) -> str | None:
    value = row.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise PairingError(f"{where}: {key} must be text, got {type(value).__name__}")
    return str(value)


def _default_id(gt: str) -> str:
    """The gt path as written, without extension; just the file stem when that path is absolute or leaves the folder."""
    candidate = Path(gt).with_suffix("").as_posix()
    return candidate if id_problem(candidate) is None else Path(gt).stem


def _inside(path: Path, folder: Path) -> bool:
    return os.path.commonpath([str(path), str(folder)]) == str(folder)


def pair_from_manifest(manifest: str | Path, *, allow_partial: bool = False) -> PairingResult:
    """Read pairs from a CSV/TSV (with header) or JSONL manifest.

    Rows whose ``gt`` or ``gen`` file does not exist count as unmatched. Paths are
    recorded resolved; ids that break :mod:`spatialeval.io.ids` rules raise :class:`PairingError`.
    """
    manifest = Path(manifest)
    if not manifest.is_file():
        raise PairingError(f"{manifest}: manifest not found")
    base = manifest.parent.resolve()
    pairs, only_gt, only_gen, outside, seen = [], [], [], [], set()
    for number, row in _read_manifest_rows(manifest):
        where = f"{manifest}:{number}"
        row = _aliased(row, where)
        values = {key: _field(row, key, where) for key in MANIFEST_COLUMNS}
        missing = [k for k in ("gt", "gen") if not values[k]]
        if missing:
            raise PairingError(f"{manifest}: row {number} lacks {', '.join(missing)}")
        gt, gen = (base / values["gt"]).resolve(), (base / values["gen"]).resolve()
        item_id = values["id"] if values["id"] is not None else _default_id(values["gt"])
        problem = id_problem(item_id)
        if problem:
            raise PairingError(
                f"{where}: item id {item_id!r} {problem}; ids name files under the output "
                "directory, so give a relative name without '..', control characters or backslashes"
            )
        if item_id in seen:
            hint = "" if values["id"] else " (rows without an id take the gt file's name: add an id column)"
            raise PairingError(f"{manifest}: duplicate id {item_id!r} (row {number}){hint}")
        seen.add(item_id)
        prompt = (base / values["prompt"]).resolve() if values["prompt"] else None
        if not all(_inside(p, base) for p in (gt, gen, prompt) if p is not None):
            outside.append(item_id)
        if not gt.is_file():
            only_gen.append(item_id)
        elif not gen.is_file():
            only_gt.append(item_id)
        else:
            pairs.append(
                Pair(
                    id=item_id,
                    gt=str(gt),
                    gen=str(gen),
                    text=values["text"],
                    prompt=str(prompt) if prompt else None,
                )
            )
    result = _settle(pairs, only_gt, only_gen, allow_partial, str(manifest))
    result.outside_manifest = outside
    return result


def find_pairs(gt: str | Path, gen: str | Path | None = None, *, allow_partial: bool = False) -> PairingResult:
    """Pairs from two directories, or from a manifest file when ``gen`` is None."""
    if gen is None:
        return pair_from_manifest(gt, allow_partial=allow_partial)
    return pair_directories(gt, gen, allow_partial=allow_partial)
