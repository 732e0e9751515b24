"""Expected values for the BEWO CRW-mode / FSAD parity tests, produced by the *released* code (not ours).

Runs, from checkouts of PeiwenSun2000/Both-Ears-Wide-Open (``evaluations/``) and
SonyResearch/soundreactor_v2a_eval (``stereoFAD/``), the code that computes the numbers:
``WaveNet`` / ``AudioEncoder`` (``models/audio_encoder.py``), ``StereoCRWLoss.inference``
(``models/stereo_loss.py``), ``predict`` / ``estimate_crw_itd`` / ``inference_crw_itd_simple`` /
``mask_by_max_delay_window`` / ``gcc_phat`` (``vis_scripts/vis_functs.py``), the frame window of
``SingleVideoDataset`` and ``read_audio`` / ``create_delay_matrix`` of ``StereoAudioDataset``
(``data/``), ``load_model`` (``utils/torch_utils.py``, strict=False as released), then the released
``cal_avg_mean_itd.py`` and ``cal_avg_idt_fad.py`` unchanged except for their hard-coded paths.
Everything is loaded by its source (ast) so that the released modules' unrelated imports (cv2, h5py,
tensorboard, …) are not needed.

Shims, because torchvision and torchaudio cannot be imported next to the pinned torch: the *genuine*
files of the versions BEWO's ``environment.yml`` pins are executed — ``torchvision/models/resnet.py``
of torchvision 0.9.0 (its ``from .utils import load_state_dict_from_url`` replaced by ``None``: no
pretrained download is used) and ``Spectrogram`` + ``spectrogram`` of torchaudio 0.8.0
(``transforms.py``, ``functional/functional.py``) — from their wheels::

    pip download torchvision==0.9.0 torchaudio==0.8.0 --no-deps --python-version 3.8 \
        --only-binary=:all: --platform manylinux1_x86_64 -d /tmp/wheels

``cal_avg_idt_fad.py`` imports ``FrechetAudioDistance`` from audioldm_eval 0.0.3; Sony's copy of the
script holds that class inline: its ``calculate_embd_statistics`` / ``calculate_frechet_distance`` are
loaded from there (its constructor, which downloads VGGish, is left out; neither method uses it).

The weights are the stand-in (``spatialeval.models.standins.stereocrw``, seed 0), loaded into both.
Commands that produced ``tests/data/bewo/crw_expected.json`` and ``stereocrw_keys.json``::

    git --git-dir=<mirror of Both-Ears-Wide-Open> archive HEAD evaluations | tar -x -C /tmp/bewo
    git --git-dir=<mirror of soundreactor_v2a_eval> archive HEAD stereoFAD | tar -x -C /tmp/sony
    PYTHONPATH=src python -c "from spatialeval.models.standins.stereocrw import write_test_checkpoint as w; \
        w('/tmp/crw_seed0.pth.tar')"
    python scripts/bewo_crw_reference.py /tmp/bewo/evaluations /tmp/sony/stereoFAD /tmp/wheels \
        /tmp/crw_seed0.pth.tar tests/data/bewo /tmp/crw_run > tests/data/bewo/crw_expected.json

(any Python with torch, numpy, scipy, soundfile; the key table is written to ``<data dir>/stereocrw_keys.json``).
"""

from __future__ import annotations

import ast
import contextlib
import json
import pickle
import subprocess
import sys
import types
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import scipy
import scipy.signal
import soundfile as sf
import torch
import torch.nn as nn
import torch.nn.functional as F

# --patch_num / --patch_stride of the reduced configuration the parity tests run (the released code takes both
# as arguments; the network and every formula are the same, only fewer patches per frame are encoded).
REDUCED = {"patch_num": 8, "patch_stride": 8}
FEATURE_SEED, FEATURE_PATCHES = 7, 513  # synthetic features at the release's 513 patches (tests/test_bewo_crw.py)
FSAD_SEED, FSAD_CLIPS = 11, 12
GROUPS = 1  # 5-frame groups per clip in the FSAD run (the release: 20; see step 4)
NETWORK_PATCHES = 4  # patches of one clip compared feature by feature
# fixture pairs run end to end (a CPU forward pass of the released network costs tens of ms per patch)
PAIRS = ("unequal_lengths", "az_shift_large", "rate_mixed")


def synthetic_features(seed: int = FEATURE_SEED, patches: int = FEATURE_PATCHES) -> np.ndarray:
    """(2, patches, 128) float32 features; the tests draw the same ones."""
    return np.random.default_rng(seed).standard_normal((2, patches, 128)).astype(np.float32)


def synthetic_fsad_sets(seed: int = FSAD_SEED, clips: int = FSAD_CLIPS) -> tuple[np.ndarray, np.ndarray]:
    """Two sets of per-clip (5, 256) float32 frame features (s): one FSAD group; the tests draw the same ones."""
    rng = np.random.default_rng(seed)
    gt = rng.normal(0.0, 2e-4, size=(clips, 5 * GROUPS, 256)).astype(np.float32)
    gen = (gt * 0.7 + rng.normal(1e-5, 1.5e-4, size=gt.shape)).astype(np.float32)
    return gt, gen


def definitions(path: Path, names: dict[str, str | None], namespace: dict, whole_classes=()) -> dict:
    """Exec the named top-level functions / methods (name → class, or None) / whole classes of ``path`` in ``namespace``."""
    tree = ast.parse(path.read_text())
    body = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in whole_classes:
            body.append(node)
        elif isinstance(node, ast.ClassDef):
            body += [
                item for item in node.body if isinstance(item, ast.FunctionDef) and names.get(item.name) == node.name
            ]
        elif isinstance(node, ast.FunctionDef) and node.name in names and names[node.name] is None:
            body.append(node)
    exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), namespace)
    return namespace


def install_shims(wheels: Path) -> None:
    """torchvision.models.resnet (0.9.0) and torchaudio.transforms.Spectrogram (0.8.0) from their genuine sources."""
    tv = next(wheels.glob("torchvision-0.9.0-*.whl"))
    ta = next(wheels.glob("torchaudio-0.8.0-*.whl"))
    with zipfile.ZipFile(tv) as z:
        resnet_src = z.read("torchvision/models/resnet.py").decode()
    with zipfile.ZipFile(ta) as z:
        transforms_src = z.read("torchaudio/transforms.py").decode()
        functional_src = z.read("torchaudio/functional/functional.py").decode()
    resnet = types.ModuleType("torchvision.models.resnet")
    exec(
        compile(
            resnet_src.replace("from .utils import load_state_dict_from_url", "load_state_dict_from_url = None"),
            "torchvision/models/resnet.py",
            "exec",
        ),
        resnet.__dict__,
    )
    models = types.ModuleType("torchvision.models")
    models.resnet = resnet
    torchvision = types.ModuleType("torchvision")
    torchvision.models = models
    functional = types.ModuleType("torchaudio.functional")
    functional.__dict__.update({"torch": torch, "Tensor": torch.Tensor, "Optional": __import__("typing").Optional})
    tmp = Path("/tmp/_torchaudio_functional.py")
    tmp.write_text(functional_src)
    definitions(tmp, {"spectrogram": None}, functional.__dict__)
    transforms = types.ModuleType("torchaudio.transforms")
    transforms.__dict__.update(
        {
            "torch": torch,
            "Tensor": torch.Tensor,
            "F": functional,
            "Optional": __import__("typing").Optional,
            "Callable": __import__("typing").Callable,
        }
    )
    tmp.write_text(transforms_src)
    definitions(tmp, {}, transforms.__dict__, whole_classes=("Spectrogram",))
    torchaudio = types.ModuleType("torchaudio")
    torchaudio.transforms, torchaudio.functional = transforms, functional
    sys.modules.update(
        {
            "torchvision": torchvision,
            "torchvision.models": models,
            "torchvision.models.resnet": resnet,
            "torchaudio": torchaudio,
            "torchaudio.transforms": transforms,
        }
    )


def released(ev: Path):
    """The released model, loss, CRW post-processing and loader pieces, in one namespace."""
    import torchaudio  # the shims
    import torchvision

    ns = {
        "np": np,
        "torch": torch,
        "nn": nn,
        "F": F,
        "scipy": scipy,
        "sf": sf,
        "OrderedDict": OrderedDict,
        "os": __import__("os"),
        "sys": sys,
        "torchvision": torchvision,
        "torchaudio": torchaudio,
    }
    definitions(ev / "models" / "stereo_loss.py", {}, ns, whole_classes=("StereoCRWLoss",))
    ns["models"] = types.SimpleNamespace(StereoCRWLoss=ns["StereoCRWLoss"])
    definitions(ev / "models" / "audio_encoder.py", {}, ns, whole_classes=("AudioEncoder", "WaveNet"))
    definitions(
        ev / "vis_scripts" / "vis_functs.py",
        dict.fromkeys(
            [
                "predict",
                "mask_by_max_delay_window",
                "inference_crw_itd_simple",
                "inference_crw_itd_with_cycle",
                "ransac_like_pick",
                "estimate_crw_itd",
                "gcc_phat",
            ]
        ),
        ns,
    )
    definitions(ev / "utils" / "torch_utils.py", {"load_model": None}, ns)
    definitions(
        ev / "data" / "single_video_loader.py",
        {"__getitem__": "SingleVideoDataset", "generate_audio": "SingleVideoDataset"},
        ns,
    )
    loader = dict(getitem=ns.pop("__getitem__"), generate_audio=ns.pop("generate_audio"))
    definitions(
        ev / "data" / "stereo_audio_loader.py",
        {"read_audio": "StereoAudioDataset", "create_delay_matrix": "StereoAudioDataset"},
        ns,
    )
    loader.update(read_audio=ns.pop("read_audio"), create_delay_matrix=ns.pop("create_delay_matrix"))
    return ns, loader


def configuration(patch_num: int, patch_stride: int):
    """args / pr of scripts/visualization_video.sh (setting stereocrw_binaural, resnet9, --wav2spec, mean)."""
    pr = types.SimpleNamespace(
        clip_length=0.24,
        patch_num=patch_num,
        patch_stride=patch_stride,
        samp_sr=16000,
        max_delay=1.5e-3,
        patch_size=7680,
        n_fft=256,
        tau=0.05,
        feat_dim=128,
        num_classes=1,
        loss="StereoCRWLoss",
        seed=1234,
    )
    args = types.SimpleNamespace(
        backbone="resnet9",
        wav2spec=True,
        finer_hop=False,
        skip_node=False,
        smooth=0.0,
        cycle_num=1,
        bidirectional=False,
        select="soft_weight",
        cycle_filter=False,
        mode="mean",
        gcc_fft=3840,
        same_vote=False,
        setting="stereocrw_binaural",
    )
    return args, pr


def build_net(ns, args, pr, checkpoint: str):
    torch.manual_seed(0)
    net = ns["WaveNet"](args, pr, device="cpu")
    with contextlib.redirect_stdout(sys.stderr):  # load_model prints; stdout carries the JSON
        net, _ = ns["load_model"](checkpoint, net, device=torch.device("cpu"), strict=False)
    return net.eval()


def clip_pkl(ns, loader, args, pr, net, wav: Path) -> dict:
    """What the released ``inference`` stores for one clip: crw_itds (ms), baseline_itds (ms), feat_itds."""
    Dataset = type(
        "Dataset",
        (),
        {
            "__getitem__": loader["getitem"],
            "generate_audio": loader["generate_audio"],
            "read_audio": loader["read_audio"],
            "create_delay_matrix": loader["create_delay_matrix"],
        },
    )
    data = Dataset()
    data.pr, data.no_resample, data.frame_list = pr, False, 100
    data.meta_dict = {"frame_rate": 10}
    audio, data.audio_rate = data.read_audio(str(wav))
    data.audio = torch.from_numpy(audio.copy()).float()
    criterion = ns["StereoCRWLoss"](args, pr, "cpu")
    crw, feats, gcc, seen = [], [], [], {}
    with torch.no_grad():
        for index in range(100):
            item = data[index]
            key = item["audio"].numpy().tobytes()
            if key not in seen:  # frames past a short clip's end repeat one window: computed once
                batch = {k: (v.unsqueeze(0) if torch.is_tensor(v) else v) for k, v in item.items()}
                out = ns["predict"](args, pr, net, batch, "cpu")
                aff = criterion.inference(out, softmax=False)
                itd, feat = ns["estimate_crw_itd"](args, pr, aff, batch["delay_time"])
                base = ns["gcc_phat"](args, pr, item["audio"], fs=data.audio_rate, max_tau=pr.max_delay, interp=1)
                seen[key] = (itd, feat, base)
            itd, feat, base = seen[key]
            crw.append(itd)
            feats.append(feat)
            gcc.append(base)
    return {
        "crw_itds": torch.cat(crw, dim=-1).data.cpu().numpy() * 1000,
        "baseline_itds": np.array(gcc) * 1000,
        "feat_itds": torch.cat(feats, dim=0),
    }


def run_released_script(script: Path, work: Path, replacements: dict[str, str]) -> str:
    text = script.read_text()
    for old, new in replacements.items():
        assert old in text, (script, old)
        text = text.replace(old, new)
    target = work / script.name
    target.write_text(text)
    return subprocess.run([sys.executable, target.name], capture_output=True, text=True, check=True, cwd=work).stdout


def write_fad_module(sony: Path, work: Path) -> None:
    """fad.py with audioldm_eval's FrechetAudioDistance statistics and distance, as inlined in Sony's copy."""
    tree = ast.parse((sony / "cal_avg_idt_fad.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "FrechetAudioDistance")
    cls.body = [
        f
        for f in cls.body
        if isinstance(f, ast.FunctionDef) and f.name in ("calculate_embd_statistics", "calculate_frechet_distance")
    ]
    (work / "fad.py").write_text("import numpy as np\nfrom scipy import linalg\n\n\n" + ast.unparse(cls) + "\n")


def released_fsad(ev: Path, sony: Path, work: Path, gt_feats, gen_feats) -> str:
    """Print of the released cal_avg_idt_fad.py on pkl files holding these feat_itds."""
    for name, sets in (("temp_1", gt_feats), ("temp_2", gen_feats)):
        (work / name).mkdir(parents=True, exist_ok=True)
        for i, feat in enumerate(sets):
            with open(work / name / f"clip{i:02d}.pkl", "wb") as handle:
                pickle.dump({"feat_itds": torch.as_tensor(feat)}, handle)
    write_fad_module(sony, work)
    return run_released_script(
        ev / "cal_avg_idt_fad.py",
        work,
        {
            "view(data_list1.shape[0], 20, 5, 256)": f"view(data_list1.shape[0], {GROUPS}, 5, 256)",
            "view(data_list2.shape[0], 20, 5, 256)": f"view(data_list2.shape[0], {GROUPS}, 5, 256)",
            'sys.path.append("/data/peiwensun/project/audioldm_eval/audioldm_eval/metrics")': f"sys.path.append({str(work)!r})",
            "'/data/peiwensun/project/stereocrw/temp_1'": repr(str(work / "temp_1")),
            "'/data/peiwensun/project/stereocrw/temp_2'": repr(str(work / "temp_2")),
        },
    )


def main(evaluations: str, stereofad: str, wheels: str, checkpoint: str, data_dir: str, work: str) -> None:
    ev, sony, data, work_dir = Path(evaluations), Path(stereofad), Path(data_dir), Path(work)
    work_dir.mkdir(parents=True, exist_ok=True)
    install_shims(Path(wheels))
    ns, loader = released(ev)
    result: dict = {"reduced_config": REDUCED}

    # 1. the released model's parameter table
    args, pr = configuration(512, 1)
    net = build_net(ns, args, pr, checkpoint)
    keys = {k: list(v.shape) for k, v in net.state_dict().items()}
    lines = [f"  {json.dumps(key)}: {json.dumps(shape)}" for key, shape in keys.items()]
    (data / "stereocrw_keys.json").write_text("{\n" + ",\n".join(lines) + "\n}\n")

    # 2. features of the first patches of one clip's first window (left ear), through the released encode_audio
    audio, rate = loader["read_audio"](types.SimpleNamespace(no_resample=False, pr=pr), str(data / "gt" / "same.wav"))
    left = torch.from_numpy(audio.copy()).float()[0:1, : 3840 + NETWORK_PATCHES - 1].unsqueeze(0)
    with torch.no_grad():
        pr.patch_stride = 1
        features = net.encode_audio(left)[0]
    result["network_features_same_left"] = features.numpy().astype(float).tolist()

    # 3. CRW post-processing on synthetic features at the release's size (513 patches, stride 1)
    feats = torch.from_numpy(synthetic_features())
    out = {"audio_left": feats[0:1], "audio_right": feats[1:2]}
    criterion = ns["StereoCRWLoss"](args, pr, "cpu")
    aff = criterion.inference(out, softmax=False)
    delay = loader["create_delay_matrix"](types.SimpleNamespace(pr=pr), FEATURE_PATCHES, 16000).unsqueeze(0)
    itd, pooled = ns["estimate_crw_itd"](args, pr, aff, delay)
    result["synthetic_crw"] = {"itd_s": float(itd[0]), "pooled": pooled[0].numpy().astype(float).tolist()}

    # 5. end to end on the fixture clips, reduced configuration: pkl files, then the released scripts
    args, pr = configuration(REDUCED["patch_num"], REDUCED["patch_stride"])
    net = build_net(ns, args, pr, checkpoint)
    clips = {}
    for folder, name in ((data / "gt", "temp_1"), (data / "infer", "temp_2")):
        (work_dir / name).mkdir(parents=True, exist_ok=True)
        for wav in sorted(folder / f"{pair}.wav" for pair in PAIRS):
            pkl = clip_pkl(ns, loader, args, pr, net, wav)
            with open(work_dir / name / f"{wav.stem}.pkl", "wb") as handle:
                pickle.dump(pkl, handle)
            side = "gt_crw_itd_ms" if name == "temp_1" else "gen_crw_itd_ms"
            clips.setdefault(wav.stem, {})[side] = float(pkl["crw_itds"].mean())
    result["pairs"] = clips
    paths = {
        "'/data/peiwensun/project/stereocrw/temp_1'": repr(str(work_dir / "temp_1")),
        "'/data/peiwensun/project/stereocrw/temp_2'": repr(str(work_dir / "temp_2")),
    }
    result["printed_itd"] = run_released_script(ev / "cal_avg_mean_itd.py", work_dir, paths)

    # 4. FSAD on synthetic frame features. The released script's Fréchet step is a general scipy sqrtm of the
    # 5120 × 5120 covariance product (measured: 8 CPU-s at 768-d, i.e. ≈ 40 CPU-min at 5120-d), so it runs with
    # its reshape constant 20 → 1 (one group of 5 frames: 256-d vectors); the grouping itself is a torch
    # view + mean that tests/test_bewo_crw.py checks against the 20-group layout directly.
    gt_feats, gen_feats = synthetic_fsad_sets()
    result["synthetic_fsad_printed"] = released_fsad(ev, sony, work_dir / "fsad_synthetic", gt_feats, gen_feats)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:7])
