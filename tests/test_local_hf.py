"""Local-only model loading: a missing model is a skip with the fetch command, never a download."""

from __future__ import annotations

import pytest

from spatialeval.models.local_hf import from_local_pretrained
from spatialeval.pipeline.stages import StageUnavailable


class Found:
    calls: list = []

    @classmethod
    def from_pretrained(cls, source, local_files_only):
        cls.calls.append((source, local_files_only))
        return cls()


class Absent:
    @classmethod
    def from_pretrained(cls, source, local_files_only):
        raise OSError("not in cache")


def test_loads_every_part_locally_only(tmp_path):
    parts = from_local_pretrained((Found, Found), str(tmp_path), str(tmp_path), "Demo model", "fetch it")
    assert len(parts) == 2 and all(isinstance(p, Found) for p in parts)
    assert Found.calls[-1] == (str(tmp_path), True)


def test_missing_folder_and_missing_cache_entry(tmp_path):
    with pytest.raises(StageUnavailable, match=r"Demo model folder .*nope does not exist; run X"):
        from_local_pretrained((Found,), "org/demo", str(tmp_path / "nope"), "Demo model", "run X")
    with pytest.raises(
        StageUnavailable, match=r"Demo model org/demo not found in the local Hugging Face cache \(OSError\); run X"
    ):
        from_local_pretrained((Absent,), "org/demo", None, "Demo model", "run X")
