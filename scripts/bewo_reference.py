"""Expected values for the BEWO GCC-mode parity test, produced by the *released* code (not ours).

Loads, from a checkout of PeiwenSun2000/Both-Ears-Wide-Open, the functions that compute numbers —
StereoCRW's ``gcc_phat`` (``evaluations/vis_scripts/vis_functs.py``), the per-frame audio window of
``SingleVideoDataset.__getitem__`` and ``StereoAudioDataset.read_audio`` (``evaluations/data/``) —
by their source (ast), stubbing only the image/network parts that GCC mode does not use; writes the
per-clip pkl files the released ``vis_video_itd.py`` would write (``baseline_itds`` in ms; its
``crw_itds`` need the dead checkpoint and are written as zeros), then runs the released
``cal_avg_mean_itd.py`` unchanged except for its two hard-coded folder paths, and prints its output.

Run (any Python with torch, numpy, scipy, soundfile; the command that produced tests/data/bewo_expected.json)::

    git --git-dir=<mirror of PeiwenSun2000/Both-Ears-Wide-Open> archive HEAD evaluations | tar -x -C /tmp/bewo
    python scripts/bewo_reference.py /tmp/bewo/evaluations <gt dir> <generated dir> /tmp/bewo_run > expected.json

folder 1 of the released script is the gt directory, folder 2 the generated one.
"""

from __future__ import annotations

import ast
import json
import pickle
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf
import torch


def released_functions(path: Path, names: dict[str, str | None]) -> dict:
    """Function objects defined in ``path`` (top level, or methods of the class given as value)."""
    tree = ast.parse(path.read_text())
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and names.get(item.name) == node.name:
                    found[item.name] = item
        elif isinstance(node, ast.FunctionDef) and node.name in names and names[node.name] is None:
            found.setdefault(node.name, node)
    namespace = {"np": np, "torch": torch, "scipy": scipy, "sf": sf}
    module = ast.Module(body=list(found.values()), type_ignores=[])
    exec(compile(module, str(path), "exec"), namespace)
    return {name: namespace[name] for name in found}


def main(evaluations: str, gt_dir: str, gen_dir: str, work: str) -> None:
    ev, work_dir = Path(evaluations), Path(work)
    gcc = released_functions(ev / "vis_scripts" / "vis_functs.py", {"gcc_phat": None})["gcc_phat"]
    loader = released_functions(
        ev / "data" / "single_video_loader.py",
        {"__getitem__": "SingleVideoDataset", "generate_audio": "SingleVideoDataset"},
    )
    reader = released_functions(ev / "data" / "stereo_audio_loader.py", {"read_audio": "StereoAudioDataset"})
    # the parameters of scripts/visualization_video.sh with setting 'stereocrw_binaural' (max_delay 1.5 ms)
    pr = types.SimpleNamespace(
        clip_length=0.24, patch_num=512, patch_stride=1, samp_sr=16000, max_delay=1.5e-3, patch_size=3840
    )
    args = types.SimpleNamespace(gcc_fft=3840, same_vote=False, mode="mean")
    Dataset = type(
        "Dataset",
        (),
        {
            "__getitem__": loader["__getitem__"],
            "generate_audio": loader["generate_audio"],
            "read_audio": reader["read_audio"],
            "read_image": lambda self, paths: None,
            "create_delay_matrix": lambda self, num, rate: None,
        },
    )
    results = {}
    for folder, name in ((gt_dir, "temp_1"), (gen_dir, "temp_2")):
        out = work_dir / name
        out.mkdir(parents=True, exist_ok=True)
        for wav in sorted(Path(folder).glob("*.wav")):
            data = Dataset()
            data.pr, data.no_resample, data.frame_list = pr, False, ["stub"] * 100  # the fixed 100 frames
            data.meta_dict = {"frame_rate": 10}
            audio, data.audio_rate = data.read_audio(str(wav))
            data.audio = torch.from_numpy(audio.copy()).float()
            itds, seen = [], {}
            for index in range(100):
                batch = data[index]
                # frames past a short clip's end repeat one window: the released call on it is computed once
                key = batch["audio"].numpy().tobytes()
                if key not in seen:
                    seen[key] = gcc(args, pr, batch["audio"], fs=data.audio_rate, max_tau=pr.max_delay, interp=1)
                itds.append(seen[key])
            itds = np.array(itds) * 1000
            with open(out / f"{wav.stem}.pkl", "wb") as handle:
                pickle.dump({"crw_itds": np.zeros(100), "baseline_itds": itds}, handle)
            results.setdefault(wav.stem, {})["gt_itd_ms" if name == "temp_1" else "gen_itd_ms"] = float(itds.mean())
    script = (ev / "cal_avg_mean_itd.py").read_text()
    script = script.replace("'/data/peiwensun/project/stereocrw/temp_1'", repr(str(work_dir / "temp_1")))
    script = script.replace("'/data/peiwensun/project/stereocrw/temp_2'", repr(str(work_dir / "temp_2")))
    (work_dir / "cal_avg_mean_itd.py").write_text(script)
    printed = subprocess.run(
        [sys.executable, str(work_dir / "cal_avg_mean_itd.py")], capture_output=True, text=True, check=True
    ).stdout
    print(json.dumps({"pairs": results, "printed": printed}, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:5])
