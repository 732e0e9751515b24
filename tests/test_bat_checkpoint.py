"""The project's test-checkpoint generator and safe loader."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest
import torch
from conftest import shared_dir

from spatialeval.models.bat import SpatialAST
from spatialeval.models.checkpoint import CheckpointError, load_bat, read_state_dict, resolve_checkpoint


def test_generator_matches_shared_reference_bit_for_bit(test_checkpoint, tmp_path):
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared (the workplace's reference generator) is not beside this checkout")
    reference_path = tmp_path / "reference.pth"
    subprocess.run(
        [sys.executable, str(shared / "tools" / "make_bat_test_checkpoint.py"), str(reference_path), "--seed", "0"],
        check=True,
        capture_output=True,
    )
    reference = read_state_dict(reference_path)
    ours = read_state_dict(test_checkpoint)
    assert list(ours) == list(reference)
    unequal = [k for k in reference if not torch.equal(reference[k], ours[k]) or reference[k].dtype != ours[k].dtype]
    assert unequal == []


def test_state_dict_matches_released_key_list():
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared/reference/bat_state_dict.tsv is not available")
    lines = (shared / "reference" / "bat_state_dict.tsv").read_text().splitlines()[2:]
    expected = [
        (k, [int(x) for x in s.strip("[]").split(",") if x.strip()], d)
        for k, s, d in (line.split("\t") for line in lines)
    ]
    state = SpatialAST().state_dict()
    assert [k for k, _, _ in expected] == list(state)
    for key, shape, dtype in expected:
        assert list(state[key].shape) == shape and str(state[key].dtype) == f"torch.{dtype}", key


def test_plain_torch_load_refuses_but_safe_loader_loads(test_checkpoint):
    with pytest.raises(pickle.UnpicklingError):
        torch.load(test_checkpoint, weights_only=True)  # argparse.Namespace is not an allowed global
    loaded = load_bat(test_checkpoint)
    assert len(loaded.sha256) == 64
    assert not loaded.model.training


def test_checkpoint_with_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("executed",))

    path = tmp_path / "evil.pth"
    torch.save({"model": {"x": torch.zeros(1)}, "payload": Evil()}, path)
    with pytest.raises(CheckpointError, match="refused: the checkpoint holds pickled objects") as info:
        read_state_dict(path)
    assert "weights_only" not in str(info.value)  # never relay torch's advice to run the file's code


def test_wrong_architecture_is_a_clear_error(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"model": {"fc.weight": torch.zeros(2, 2)}}, path)
    with pytest.raises(CheckpointError, match="not a BAT Spatial-AST checkpoint"):
        load_bat(path)


def test_resolution_order(tmp_path, monkeypatch):
    a, b, c = (tmp_path / n for n in ("a.pth", "b.pth", "c.pth"))
    for p in (a, b, c):
        p.write_bytes(b"x")
    monkeypatch.setenv("SPATIALEVAL_CKPT", str(c))
    assert resolve_checkpoint(a, b) == a
    assert resolve_checkpoint(None, b) == b
    assert resolve_checkpoint(None, None) == c
    monkeypatch.delenv("SPATIALEVAL_CKPT")
    assert resolve_checkpoint(None, None, search_root=tmp_path) is None
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "finetuned.pth").write_bytes(b"x")
    assert resolve_checkpoint(None, None, search_root=tmp_path) == tmp_path / "ckpt" / "finetuned.pth"
    with pytest.raises(CheckpointError, match="Hugging Face"):
        resolve_checkpoint(tmp_path / "missing.pth")


def test_loaded_weights_and_hash_come_from_the_file(test_checkpoint):
    # load_bat builds the model on the meta device and assigns the checkpoint's tensors: every tensor must be
    # the file's (none left on meta, none randomly initialised), float32, frozen; the hash is the file's.
    import hashlib

    loaded = load_bat(test_checkpoint)
    assert loaded.sha256 == hashlib.sha256(test_checkpoint.read_bytes()).hexdigest()
    state = read_state_dict(test_checkpoint)
    mine = loaded.model.state_dict()
    assert list(mine) == list(state)
    assert all(torch.equal(mine[k], state[k]) and not mine[k].is_meta for k in state)
    assert all(p.dtype == torch.float32 and not p.requires_grad for p in loaded.model.parameters())
