"""StereoCRW's audio encoder (Chen, Fouhey & Owens, ECCV 2022) in plain torch, and safe loading of its checkpoint.

The network BEWO's ``evaluations/`` (PeiwenSun2000/Both-Ears-Wide-Open) and Sony's
``soundreactor_v2a_eval/stereoFAD`` run for their CRW-mode ITD and FSAD: the ``WaveNet`` of
IFICL/stereocrw ``models/audio_encoder.py`` with ``--backbone resnet9 --wav2spec`` — per patch of
0.24 s (3840 samples at 16 kHz) of one ear:

* a complex STFT (n_fft 256, Hann window of 256, hop ``3840 // 128`` = 30, centred with reflect
  padding: torchaudio 0.8's ``Spectrogram(power=None)``), real and imaginary parts as 2 channels,
  laid out (time, frequency) and cut to 128 × 128;
* a ResNet with one BasicBlock per stage (torchvision's ``_resnet('resnet9', BasicBlock, [1, 1, 1, 1])``)
  whose first convolution takes 2 channels and whose ``fc`` maps 512 → 128: one 128-d feature per patch.

Parameter names are the released model's (``trans.window``, ``net.conv1.weight``, …, ``net.fc.bias``);
``tests/data/bewo/stereocrw_keys.json`` holds the table derived from the released definition.

The checkpoint (``FreeMusic-StereoCRW-1024.pth.tar``) is read with ``torch.load(weights_only=True)``:
``{'epoch', 'state_dict', 'optimizer'}``, keys optionally prefixed ``module.`` (DataParallel), as the
release's ``torch_utils.load_model`` accepts them. Its original Dropbox link is dead (see :data:`WHERE_TO_GET`).
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from spatialeval.errors import CheckpointError

CKPT_ENV = "SPATIALEVAL_STEREOCRW_CKPT"
N_FFT = 256
FEATURE_DIM = 128
SPEC_BINS = 128  # time frames and frequency bins kept (the release drops the last of 129)
WHERE_TO_GET = (
    "StereoCRW's weights (FreeMusic-StereoCRW-1024.pth.tar, the file BEWO's and SoundReactor's "
    "evaluations load) are not publicly downloadable at present: the original Dropbox link in "
    "IFICL/stereocrw scripts/download_models.sh and the newer one in SonyResearch/soundreactor_v2a_eval "
    "stereoFAD/README.md are both dead, and no mirror is known (an open request: QwenAudio/ThinkSound "
    "issue #66). If you have the file, pass it with bewo.crw_checkpoint (--crw-ckpt) or "
    f"${CKPT_ENV}."
)


class _WindowHolder(nn.Module):
    """Holds the STFT window under the released name ``trans.window`` (torchaudio's Spectrogram buffer)."""

    def __init__(self):
        super().__init__()
        # built on the CPU even under torch.device("meta"): a meta hann_window costs seconds of one-time setup
        self.register_buffer("window", torch.hann_window(N_FFT, device="cpu"))


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with batch norm and an identity (or 1×1-projected) shortcut."""

    def __init__(self, in_channels: int, channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride, bias=False), nn.BatchNorm2d(channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + shortcut)


class ResNet9(nn.Module):
    """The released backbone: a 2-channel 7×7 stem, max pool, one BasicBlock per stage (64…512), mean pool, fc → 128."""

    def __init__(self, in_channels: int = 2, feature_dim: int = FEATURE_DIM):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class StereoCRWEncoder(nn.Module):
    """Patches of one ear (P, L) → features (P, 128), as the released ``WaveNet.encode_audio`` with ``--wav2spec``.

    >>> with torch.device("meta"):
    ...     encoder = StereoCRWEncoder()
    >>> sorted(encoder.state_dict())[:2], len(encoder.state_dict())
    (['net.bn1.bias', 'net.bn1.num_batches_tracked'], 75)
    """

    def __init__(self):
        super().__init__()
        self.trans = _WindowHolder()
        self.net = ResNet9()

    def spectrogram(self, patches: torch.Tensor) -> torch.Tensor:
        """(P, L) → (P, 2, 128, 128): real/imaginary STFT channels, (time, frequency), hop L // 128."""
        spec = torch.stft(
            patches,
            n_fft=N_FFT,
            hop_length=patches.shape[-1] // SPEC_BINS,
            win_length=N_FFT,
            window=self.trans.window,
            center=True,
            pad_mode="reflect",
            normalized=False,
            onesided=True,
            return_complex=True,
        )  # (P, 129 frequencies, frames)
        spec = torch.view_as_real(spec).permute(0, 3, 2, 1)  # (P, 2, frames, frequencies)
        return spec[..., :SPEC_BINS, :SPEC_BINS].contiguous()

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return self.net(self.spectrogram(patches))


@dataclass(frozen=True)
class LoadedStereoCRW:
    model: StereoCRWEncoder
    path: str
    sha256: str


def resolve_crw_checkpoint(configured: str | os.PathLike | None) -> Path | None:
    """The StereoCRW checkpoint path: the setting, else ``$SPATIALEVAL_STEREOCRW_CKPT``; None when neither is set.

    Raises:
        CheckpointError: a path that is given but does not exist.
    """
    for source, value in (("bewo.crw_checkpoint", configured), (CKPT_ENV, os.environ.get(CKPT_ENV))):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise CheckpointError(f"{source} points to {path}, which does not exist. {WHERE_TO_GET}")
            return path
    return None


def read_crw_state_dict(path: str | os.PathLike, data: bytes) -> dict[str, torch.Tensor]:
    """The network's tensors from a StereoCRW checkpoint, without executing pickled code; ``module.`` prefixes removed."""
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or unsafe files
        if isinstance(exc, pickle.UnpicklingError) and re.search(r"GLOBAL [\w.]+", str(exc)):
            raise CheckpointError(
                f"{path}: refused: the checkpoint holds pickled objects other than tensors; "
                "spatialeval never executes code from a checkpoint"
            ) from None
        raise CheckpointError(f"{path}: cannot read it as a torch checkpoint ({type(exc).__name__})") from None
    state = payload.get("state_dict") if isinstance(payload, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: no 'state_dict' of tensors found (expected StereoCRW's {{'state_dict': ...}})")
    if state and all(key.startswith("module.") for key in state):
        state = {key[len("module.") :]: value for key, value in state.items()}
    return dict(state)


def load_stereocrw(path: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedStereoCRW:
    """Build :class:`StereoCRWEncoder` on the meta device and assign the checkpoint's tensors (strict key check).

    A checkpoint without ``trans.window`` gets torchaudio's own value (a periodic Hann window of 256), which
    is what the released model holds when its non-strict load leaves that buffer as constructed.

    Raises:
        CheckpointError: unreadable or unsafe file, missing or unexpected keys, wrong shapes.
    """
    data = Path(path).read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    state = read_crw_state_dict(path, data)
    del data
    state.setdefault("trans.window", torch.hann_window(N_FFT))
    state = {key: value.float() if value.is_floating_point() else value for key, value in state.items()}
    with torch.device("meta"):
        model = StereoCRWEncoder()
    expected = set(model.state_dict())
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: not a StereoCRW resnet9 checkpoint; missing keys {missing[:5]}"
            f"{'...' if len(missing) > 5 else ''}, unexpected keys {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}"
        )
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: tensor shapes do not match StereoCRW ({' '.join(str(exc).split())})") from None
    model.eval().to(device)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return LoadedStereoCRW(model=model, path=str(path), sha256=sha256)


PATCH_SAMPLES = 3840  # 0.24 s at 16 kHz: one patch (the release's clip_length)
PATCHES_PER_FORWARD = 128  # patches per encoder call: bounds memory (conv1 output ≈ 1 MB per patch)


@torch.no_grad()
def encode_patches(model: StereoCRWEncoder, ear: torch.Tensor, patch_stride: int) -> torch.Tensor:
    """Features (P, 128) of the patches (3840 samples, hop ``patch_stride``) of one ear's window (L,)."""
    patches = ear.unfold(-1, PATCH_SAMPLES, patch_stride)
    device = next(model.parameters()).device
    parts = [
        model(patches[start : start + PATCHES_PER_FORWARD].to(device)).float().cpu()
        for start in range(0, patches.shape[0], PATCHES_PER_FORWARD)
    ]
    return torch.cat(parts)


def clip_crw(model: StereoCRWEncoder, binaural, sr: int, frames: int = 100, patches: int = 512, patch_stride: int = 1):
    """BEWO's CRW mode on one clip: ``{"itd_ms", "frame_itds_ms", "frame_features"}``.

    ``itd_ms``: the mean of the frames' CRW ITDs (ms); ``frame_features``: (frames, 256) float32 FSAD
    features (s). Frames are placed as in GCC mode with windows of 3840 + ``patches`` · ``patch_stride``
    samples (the release: 512 × 1); frames that share a window are computed once.

    Raises:
        TooShortForBEWO: the clip is shorter than one window.
        ValueError: malformed or non-finite input.
    """
    from spatialeval.metrics.bewo import frame_starts, to_bewo_rate
    from spatialeval.metrics.bewo_crw import crw_frame_itds

    audio = to_bewo_rate(binaural, sr)
    window = int(PATCH_SAMPLES + patches * patch_stride)
    starts = frame_starts(audio.shape[1], frames, window).tolist()
    if not np.all(np.isfinite(audio)):
        raise ValueError("NaN or infinite samples")
    signal = torch.from_numpy(audio)
    per_start = {}
    for start in dict.fromkeys(starts):
        piece = signal[:, start : start + window]
        left = encode_patches(model, piece[0], patch_stride)
        right = encode_patches(model, piece[1], patch_stride)
        itd, pooled = crw_frame_itds(left.unsqueeze(0), right.unsqueeze(0), patch_stride)
        per_start[start] = ((itd * 1000.0).numpy()[0], pooled.numpy()[0])  # ms in float32, as the release
    frame_ms = np.array([per_start[s][0] for s in starts], dtype=np.float32)
    return {
        "itd_ms": float(np.mean(frame_ms, dtype=np.float64)),
        "frame_itds_ms": frame_ms,
        "frame_features": np.stack([per_start[s][1] for s in starts]),
    }
