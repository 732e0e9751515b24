"""Matching ground-truth files with generated files.

Two sources of pairs:

* two directory trees, matched recursively by relative path and stem, so
  ``gt/spk1/utt3.wav`` pairs with ``infer/spk1/utt3.flac``;
* a manifest (CSV with a header, or JSONL) with columns ``id``, ``gt``, ``infer`` and
  optionally ``text`` (reference transcript) and ``prompt`` (speaker prompt audio);
  relative paths are resolved against the manifest's folder.

An item's ``id`` is its relative path without extension, with ``/`` separators.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf

# Everything libsndfile can decode, by extension (lower case, without the dot).
AUDIO_EXTENSIONS = frozenset(ext.lower() for ext in sf.available_formats()) | {"oga", "opus", "aif"}


class PairingError(ValueError):
    """The gt and infer sides do not match, or the manifest is malformed."""


@dataclass(frozen=True)
class Pair:
    id: str
    gt: str
    infer: str
    text: str | None = None
    prompt: str | None = None


@dataclass
class PairingResult:
    pairs: list[Pair]
    only_gt: list[str] = field(default_factory=list)
    only_infer: list[str] = field(default_factory=list)

    @property
    def left_out(self) -> dict[str, list[str]]:
        return {"only_gt": self.only_gt, "only_infer": self.only_infer}


def _is_audio(path: Path) -> bool:
    return path.is_file() and path.suffix[1:].lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


def _index_tree(root: Path) -> dict[str, Path]:
    """Map item id (relative path without extension) to file, refusing ambiguous stems."""
    if not root.is_dir():
        raise PairingError(f"{root}: not a directory")
    index: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if not _is_audio(path):
            continue
        item_id = path.relative_to(root).with_suffix("").as_posix()
        if item_id in index:
            raise PairingError(f"{root}: two files share the id {item_id!r}: {index[item_id].name} and {path.name}")
        index[item_id] = path
    return index


def _settle(pairs: list[Pair], only_gt: list[str], only_infer: list[str], allow_partial: bool, where: str) -> PairingResult:
    if (only_gt or only_infer) and not allow_partial:
        lines = [f"{where}: {len(only_gt) + len(only_infer)} file(s) have no partner"]
        lines += [f"  gt without infer: {i}" for i in only_gt[:50]]
        lines += [f"  infer without gt: {i}" for i in only_infer[:50]]
        if len(only_gt) > 50 or len(only_infer) > 50:
            lines.append("  ... (list cut at 50 per side)")
        lines.append("  pass --allow-partial to evaluate the matched pairs only")
        raise PairingError("\n".join(lines))
    if not pairs:
        raise PairingError(f"{where}: no pairs to evaluate")
    return PairingResult(pairs=pairs, only_gt=only_gt, only_infer=only_infer)


def pair_directories(gt_dir: str | Path, infer_dir: str | Path, *, allow_partial: bool = False) -> PairingResult:
    """Pair audio files under ``gt_dir`` and ``infer_dir`` by relative path and stem."""
    gt_index, infer_index = _index_tree(Path(gt_dir)), _index_tree(Path(infer_dir))
    common = sorted(set(gt_index) & set(infer_index))
    pairs = [Pair(id=i, gt=str(gt_index[i]), infer=str(infer_index[i])) for i in common]
    only_gt = sorted(set(gt_index) - set(infer_index))
    only_infer = sorted(set(infer_index) - set(gt_index))
    return _settle(pairs, only_gt, only_infer, allow_partial, f"{gt_dir} vs {infer_dir}")


def _read_manifest_rows(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise PairingError(f"{path}:{number}: invalid JSON ({exc.msg})") from exc
        return rows
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    return list(csv.DictReader(text.splitlines(), delimiter=delimiter))


def pair_from_manifest(manifest: str | Path, *, allow_partial: bool = False) -> PairingResult:
    """Read pairs from a CSV/TSV (with header) or JSONL manifest.

    Rows whose ``gt`` or ``infer`` file does not exist count as unmatched.
    """
    manifest = Path(manifest)
    if not manifest.is_file():
        raise PairingError(f"{manifest}: manifest not found")
    base = manifest.parent
    pairs, only_gt, only_infer, seen = [], [], [], set()
    for number, row in enumerate(_read_manifest_rows(manifest), 1):
        missing = [k for k in ("gt", "infer") if not row.get(k)]
        if missing:
            raise PairingError(f"{manifest}: row {number} lacks {', '.join(missing)}")
        gt, infer = base / str(row["gt"]), base / str(row["infer"])
        item_id = str(row.get("id") or Path(str(row["gt"])).with_suffix("").as_posix())
        if item_id in seen:
            raise PairingError(f"{manifest}: duplicate id {item_id!r} (row {number})")
        seen.add(item_id)
        if not gt.is_file():
            only_infer.append(item_id)
        elif not infer.is_file():
            only_gt.append(item_id)
        else:
            prompt = row.get("prompt") or None
            pairs.append(Pair(id=item_id, gt=str(gt), infer=str(infer), text=row.get("text") or None,
                              prompt=str(base / prompt) if prompt else None))
    return _settle(pairs, only_gt, only_infer, allow_partial, str(manifest))


def find_pairs(gt: str | Path, infer: str | Path | None = None, *, allow_partial: bool = False) -> PairingResult:
    """Pairs from two directories, or from a manifest file when ``infer`` is None."""
    if infer is None:
        return pair_from_manifest(gt, allow_partial=allow_partial)
    return pair_directories(gt, infer, allow_partial=allow_partial)
