"""ANG/Dis cosine stage: BAT direction and distance embeddings of gt vs. generated.

Per clip, as BAT's evaluation dataset does: resample to 32 kHz with
``scipy.signal.resample_poly``, scale the whole clip to −14 dBFS RMS (silence left
as is), then cut into encoder inputs of exactly 10 s:

* ``isdrama``: the first 10 s only (zero-padded), as the released code;
* ``segments``: consecutive 1-s segments (the paper's description), each zero-padded to 10 s;
* ``windowed``: consecutive 10-s windows covering the whole clip, the last zero-padded.

Cosines are taken window by window over the windows both clips have and averaged.
All windows of a batch of items go through the encoder together (no padding waste:
every input is exactly 10 s).
"""
from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import numpy as np
import torch

from spatialeval.features.resample import TARGET_RATE, resample_polyphase
from spatialeval.metrics.cosine import cosine, isdrama_cosine
from spatialeval.metrics.registry import metric_fields
from spatialeval.models.bat import CLIP_SAMPLES
from spatialeval.models.checkpoint import WHERE_TO_GET, load_bat, resolve_checkpoint
from spatialeval.io.files import atomic_write_bytes
from spatialeval.io.ids import item_file
from spatialeval.pipeline.cache import FeatureCache
from spatialeval.pipeline.stages.base import LoadedPair, Stage, StageUnavailable

_AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


def loudness_normalize(samples: np.ndarray, target_dbfs: float | None) -> np.ndarray:
    """Scale to ``target_dbfs`` RMS over all samples and channels; silence is returned unchanged."""
    if target_dbfs is None:
        return samples
    rms = float(np.sqrt(np.mean(samples ** 2)))
    if rms == 0.0:
        return samples
    return samples * 10.0 ** ((target_dbfs - 20.0 * np.log10(rms)) / 20.0)


def encoder_windows(samples: np.ndarray, mode: str, segment_seconds: float = 1.0,
                    window_seconds: float = 10.0) -> np.ndarray:
    """Cut a (frames, 2) 32-kHz clip into (n, 2, 320000) float32 encoder inputs."""
    wave = samples.T.astype(np.float32)
    if mode == "isdrama":
        pieces = [wave[:, :CLIP_SAMPLES]]
    else:
        step = int(round((segment_seconds if mode == "segments" else window_seconds) * TARGET_RATE))
        count = max(1, math.ceil(wave.shape[1] / step))
        pieces = [wave[:, i * step:(i + 1) * step] for i in range(count)]
    out = np.zeros((len(pieces), 2, CLIP_SAMPLES), dtype=np.float32)
    for index, piece in enumerate(pieces):
        out[index, :, :piece.shape[1]] = piece[:, :CLIP_SAMPLES]
    return out


class BATStage(Stage):
    name = "bat"
    fields = metric_fields("bat")
    speed_settings = ("batch_size", "save_embeddings")

    def __init__(self, config, checkpoint: str | None = None, embeddings_dir: str | Path | None = None):
        super().__init__(config)
        self.checkpoint = checkpoint
        self.embeddings_dir = Path(embeddings_dir) if embeddings_dir else None
        self.loaded = None
        self.device = config.resolved_device()

    def setup(self):
        # Only the absence of any configured checkpoint skips the stage; a checkpoint that was
        # configured but cannot be used raises CheckpointError (a usage error: exit code 2).
        path = resolve_checkpoint(self.checkpoint, self.config.bat.checkpoint)
        if path is None:
            raise StageUnavailable(f"no BAT checkpoint found, so ANG/Dis cosines were skipped. {WHERE_TO_GET}")
        self.loaded = load_bat(path, self.device)

    def describe(self):
        bat = self.config.bat
        return {"model": "BAT Spatial-AST (ViT-B, 3 class tokens)", "checkpoint": self.loaded.path if self.loaded else None,
                "checkpoint_sha256": self.loaded.sha256 if self.loaded else None, "mode": bat.mode,
                "normalize_dbfs": bat.normalize_dbfs, "resampler": "scipy.signal.resample_poly to 32 kHz",
                "cosine": "isdrama (wrap heuristic, eps 1e-8)" if self.config.protocol == "isdrama" else "plain",
                "device": self.device, "autocast": bat.autocast, "batch_size": bat.batch_size}

    def _settings_key(self) -> dict:
        bat = self.config.bat
        return {"ckpt": self.loaded.sha256, "mode": bat.mode, "segment": bat.segment_seconds,
                "window": bat.window_seconds, "dbfs": bat.normalize_dbfs, "autocast": bat.autocast, "v": 1}

    def _windows(self, clip) -> np.ndarray:
        clip.require_channels(2)
        bat = self.config.bat
        samples = loudness_normalize(resample_polyphase(clip.samples, clip.sample_rate), bat.normalize_dbfs)
        return encoder_windows(samples, bat.mode, bat.segment_seconds, bat.window_seconds)

    @torch.no_grad()
    def embed(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, 2, 320000) → direction and distance embeddings, each (n, 768) float32."""
        directions, distances = [], []
        batch = max(1, int(self.config.bat.batch_size))
        device_type = torch.device(self.device).type
        dtype = _AUTOCAST.get(self.config.bat.autocast or "")
        context = torch.autocast(device_type, dtype=dtype) if dtype else contextlib.nullcontext()
        for start in range(0, len(windows), batch):
            chunk = torch.from_numpy(windows[start:start + batch]).to(self.device)
            with context:
                out = self.loaded.model(chunk)
            directions.append(out.direction.float().cpu().numpy())
            distances.append(out.distance.float().cpu().numpy())
        return np.concatenate(directions), np.concatenate(distances)

    def _clip_embeddings(self, clips) -> list[dict[str, np.ndarray] | Exception]:
        """Embeddings for each clip (cached by content), encoding all uncached windows in shared batches."""
        results: list = [None] * len(clips)
        pending, keys = [], {}
        for index, clip in enumerate(clips):
            key = FeatureCache.key(clip.sha256, **self._settings_key()) if clip.sha256 else None
            cached = self.cache.get("bat", key, required=("azi", "dis"))
            if cached is not None:
                results[index] = cached
                continue
            try:
                pending.append((index, self._windows(clip)))
                keys[index] = key
            except Exception as exc:
                results[index] = exc
        if pending:
            direction, distance = self.embed(np.concatenate([w for _, w in pending]))
            offset = 0
            for index, windows in pending:
                n = len(windows)
                entry = {"azi": direction[offset:offset + n], "dis": distance[offset:offset + n]}
                offset += n
                if not (np.isfinite(entry["azi"]).all() and np.isfinite(entry["dis"]).all()):
                    results[index] = FloatingPointError(
                        f"{clips[index].path}: the BAT encoder returned NaN/Inf embeddings (the checkpoint's "
                        "weights or the input produce invalid values); ANG/Dis cannot be computed")
                    continue
                results[index] = entry
                self.cache.put("bat", keys[index], entry)
        return results

    def _similarity(self, gt: np.ndarray, infer: np.ndarray) -> float:
        n = min(len(gt), len(infer))
        score = isdrama_cosine if self.config.protocol == "isdrama" else cosine
        return float(np.mean([score(gt[i], infer[i]) for i in range(n)]))

    def _save(self, item_id: str, gt: dict, infer: dict) -> None:
        squeeze = (lambda a: a[0]) if self.config.bat.mode == "isdrama" else (lambda a: a)
        buffer = io.BytesIO()
        np.savez(buffer, gt_azi=squeeze(gt["azi"]), gt_dis=squeeze(gt["dis"]),
                 infer_azi=squeeze(infer["azi"]), infer_dis=squeeze(infer["dis"]))
        atomic_write_bytes(item_file(self.embeddings_dir, item_id, ".npz"), buffer.getvalue())

    def compute_batch(self, items: list[LoadedPair]):
        embeddings = self._clip_embeddings([clip for item in items for clip in (item.gt, item.infer)])
        results = []
        for index, item in enumerate(items):
            gt, infer = embeddings[2 * index], embeddings[2 * index + 1]
            failed = next((e for e in (gt, infer) if isinstance(e, Exception)), None)
            if failed is not None:
                results.append(failed)
                continue
            if self.embeddings_dir is not None:
                self._save(item.id, gt, infer)
            results.append({"ang_cos": self._similarity(gt["azi"], infer["azi"]),
                            "dis_cos": self._similarity(gt["dis"], infer["dis"])})
        return results
