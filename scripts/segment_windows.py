"""What of trajectory's zero-padded segment windows is identical across the segments of one clip (not a test).

    python scripts/segment_windows.py CHECKPOINT CLIP.wav

Each ``segment_seconds`` segment is placed at the start of a 10-s encoder window followed by zeros (mode
``segments``). Prints how many log-mel/IPD frames, patch tokens, block-1 QKV rows and tokens after block 1's
attention are exactly equal in every window, and the time of the front end, block 1 and blocks 2-12.
"""

from __future__ import annotations

import argparse
import time

import soundfile as sf
import torch
import torch.nn.functional as F

from spatialeval.features.resample import resample_polyphase
from spatialeval.metrics.encoder_windows import encoder_windows, loudness_normalize
from spatialeval.models.bat import TARGET_FRAMES
from spatialeval.models.checkpoint import load_bat


def identical_rows(tensor: torch.Tensor) -> int:
    """Rows (dim 1) equal in every window (dim 0)."""
    same = tensor == tensor[0:1]
    return int(same.reshape(*same.shape[:2], -1).all(dim=2).all(dim=0).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("clip")
    parser.add_argument("--segment-seconds", type=float, default=1.0)
    parser.add_argument("--dbfs", type=float, default=-14.0)
    args = parser.parse_args()
    model = load_bat(args.checkpoint).model
    samples, rate = sf.read(args.clip, always_2d=True)
    windows = encoder_windows(
        loudness_normalize(resample_polyphase(samples, rate, 32000), args.dbfs), "segments", args.segment_seconds
    )
    print(f"{len(windows)} windows of {windows.shape[2]} samples")
    with torch.no_grad():
        start = time.perf_counter()
        raw = model.spatial_features(torch.from_numpy(windows))  # (windows, 4, frames, mels)
        features = raw
        if features.shape[2] < TARGET_FRAMES:
            features = F.interpolate(features, (TARGET_FRAMES, features.shape[3]), mode="bicubic", align_corners=True)
        tokens = model.patch_embed(model.conv_downsample(features)) + model.pos_embed[:, 1:, :]
        front = time.perf_counter() - start
        frames = identical_rows(raw.transpose(1, 2))
        first = next((t for t in range(raw.shape[2]) if bool((raw[:, :, t:] == raw[0:1, :, t:]).all())), None)
        x = torch.cat([model.cls_tokens.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        block = model.blocks[0]
        qkv = block.attn.qkv(block.norm1(x))
        start = time.perf_counter()
        x = block(x)
        first_block = time.perf_counter() - start
        print(f"feature frames identical in every window: {frames} of {raw.shape[2]} (all from frame {first} on)")
        print(f"patch tokens identical: {identical_rows(tokens)} of {tokens.shape[1]}")
        print(f"block-1 LayerNorm+QKV rows identical: {identical_rows(qkv)} of {qkv.shape[1]}")
        print(f"tokens identical after block 1's attention: {identical_rows(x)} of {x.shape[1]}")
        start = time.perf_counter()
        for block in model.blocks[1:]:
            x = block(x)
        rest = time.perf_counter() - start
    print(f"time: front end + patch embedding {front:.2f} s, block 1 {first_block:.2f} s, blocks 2-12 {rest:.2f} s")


if __name__ == "__main__":
    main()
