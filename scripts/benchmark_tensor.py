#!/usr/bin/env python3
"""Timing and agreement of the device paths against the numpy/scipy paths (prints figures; not a test).

For a batch of B pairs of binaural clips (default 8 pairs of 10 s at 44.1 kHz, float32 waves):
  * resampling to 32 kHz: resample_poly_torch (float64 and float32) vs scipy.signal.resample_poly
    clip by clip, as the bat stage does it;
  * isdrama / strict IPD-ILD: the batched device functions vs the per-clip functions in a loop;
  * BAT cosines: spatialeval.training.bat_cosines vs the bat stage's path (scipy resampling,
    loudness normalisation and windows per clip, encoder in batches, numpy cosines),
    preprocessing and encoder timed separately.
Each figure is the median of --repeat rounds that take the compared runs in turn, after one warm-up
run each (the end-to-end BAT runs: one round); the machine's load average is printed with them.

    python scripts/benchmark_tensor.py --pairs 8 --seconds 10 --rate 44100 [--device cuda] [--skip-bat]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy import signal


def make_pairs(n_pairs: int, seconds: float, sr: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 2, T) float32 gt and gen: low-passed noise bursts with an interaural delay and gain, PCM16-exact."""
    rng = np.random.default_rng(0)
    length = int(round(seconds * sr))
    low_pass = signal.butter(4, 4000, fs=sr, output="sos")
    out = np.zeros((2, n_pairs, 2, length), dtype=np.float32)
    for i in range(n_pairs):
        source = signal.sosfilt(low_pass, rng.normal(0, 0.2, length + 64))
        envelope = (np.sin(2 * np.pi * 3 * np.arange(length + 64) / sr) > -0.3).astype(float)  # pauses
        source *= envelope
        for side, delay in ((0, int(rng.integers(0, 30))), (1, int(rng.integers(0, 30)))):
            gain = 10 ** (rng.uniform(-6, 6) / 20)
            left, right = source[32 : 32 + length], gain * source[32 - delay // 2 : 32 - delay // 2 + length]
            out[side, i] = np.round(np.stack([left, right]) * 32767) / 32767
    return torch.from_numpy(out[0]), torch.from_numpy(out[1])


def interleaved(runs: dict, repeat: int, device: torch.device) -> dict[str, float]:
    """Median seconds of each run over ``repeat`` rounds that take the runs in turn (after one warm-up each),
    so that a shared machine's load changes hit all of them alike."""

    def once(run) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    for run in runs.values():
        run()  # filter design, mel matrix, allocator: not part of the steady state
    times = {label: [] for label in runs}
    for _ in range(repeat):
        for label, run in runs.items():
            times[label].append(once(run))
    return {label: float(np.median(values)) for label, values in times.items()}


def report(results: dict[str, float], pairs: int) -> None:
    """One line per run; the first is the reference the others are compared with."""
    reference = next(iter(results.values()))
    for index, (label, seconds) in enumerate(results.items()):
        ratio = f"   {reference / seconds:5.2f}x the reference" if index else "   (reference)"
        print(f"  {label:55s} {seconds * 1e3:9.1f} ms  ({pairs / seconds:7.1f} pairs/s){ratio}")


def bench_resample(gt: torch.Tensor, sr: int, device: torch.device, repeat: int) -> None:
    from spatialeval.features.resample import (
        TARGET_RATE,
        resample_polyphase,
        resample_polyphase_torch,
    )

    pairs = gt.shape[0]
    clips = [gt[i].T.double().numpy() for i in range(pairs)] * 2  # gt and gen: 2 clips per pair
    both = torch.cat([gt, gt]).to(device)
    both64 = both.double()
    print(f"resampling {sr} -> {TARGET_RATE} Hz, {2 * pairs} clips (each pair = 2 stereo clips)")
    report(
        interleaved(
            {
                "scipy.signal.resample_poly, clip by clip (float64)": lambda: [
                    resample_polyphase(c, sr) for c in clips
                ],
                f"resample_poly_torch batch (float64, {device.type})": lambda: resample_polyphase_torch(both64, sr),
                f"resample_poly_torch batch (float32, {device.type})": lambda: resample_polyphase_torch(both, sr),
            },
            repeat,
            device,
        ),
        pairs,
    )
    ref = np.stack([resample_polyphase(c, sr).T for c in clips[:pairs]])
    for dtype in (torch.float64, torch.float32):
        ours = resample_polyphase_torch(gt.to(device, dtype), sr).double().cpu().numpy()
        print(
            f"    max |torch - scipy| / peak, {str(dtype).split('.')[-1]} input: "
            f"{np.abs(ours - ref).max() / np.abs(ref).max():.2e}"
        )


def bench_interaural(gt: torch.Tensor, gen: torch.Tensor, sr: int, device: torch.device, repeat: int) -> None:
    from spatialeval.metrics.ipd_ild import isdrama_ipd_ild_mae, strict_ipd_ild_mae
    from spatialeval.training import ipd_ild_mae

    pairs = gt.shape[0]
    numpy_pairs = [(gt[i].T.double().numpy(), gen[i].T.double().numpy()) for i in range(pairs)]
    g, i = gt.to(device), gen.to(device)
    print(f"IPD/ILD MAE, {pairs} pairs at {sr} Hz (features of both sides, resampling included)")
    for protocol, per_clip in (("isdrama", isdrama_ipd_ild_mae), ("strict", strict_ipd_ild_mae)):
        report(
            interleaved(
                {
                    f"{protocol}: per-clip functions in a loop": lambda per_clip=per_clip: [
                        per_clip(a, b, sr) for a, b in numpy_pairs
                    ],
                    f"{protocol}: tensor.ipd_ild_mae batch ({device.type})": lambda protocol=protocol: ipd_ild_mae(
                        g, i, sr, protocol
                    ),
                },
                repeat,
                device,
            ),
            pairs,
        )
        ours = ipd_ild_mae(g, i, sr, protocol)
        refs = [per_clip(a, b, sr) for a, b in numpy_pairs]
        worst = max(abs(float(ours[m][k]) - ref[m]) / abs(ref[m]) for k, ref in enumerate(refs) for m in ref)
        print(f"    max relative difference batch vs per clip: {worst:.2e}")


def bench_bat(
    gt: torch.Tensor,
    gen: torch.Tensor,
    sr: int,
    device: torch.device,
    repeat: int,
    checkpoint: str | None,
    batch_size: int,
) -> None:
    from spatialeval.features.resample import resample_polyphase
    from spatialeval.metrics.cosine_similarity import isdrama_cosine
    from spatialeval.metrics.encoder_windows import encoder_windows, loudness_normalize
    from spatialeval.models.checkpoint import load_bat
    from spatialeval.precision import precision_scope
    from spatialeval.training import bat_cosines, bat_inputs, embed_windows

    if checkpoint is None:
        from spatialeval.models.standins.bat import write_test_checkpoint

        checkpoint = str(write_test_checkpoint(Path(tempfile.mkdtemp()) / "bat_seed0.pth", seed=0))
    model = load_bat(checkpoint, device).model
    pairs = gt.shape[0]
    clips = [x[i].T.double().numpy() for x in (gt, gen) for i in range(pairs)]
    both = torch.cat([gt, gen]).to(device)
    g, i = gt.to(device), gen.to(device)
    print(f"BAT cosines, {pairs} pairs at {sr} Hz, mode first-window, encoder batch {batch_size}, fp32 parity mode")

    def stage_preprocess():
        return np.concatenate(
            [encoder_windows(loudness_normalize(resample_polyphase(c, sr), -14.0), "first-window") for c in clips]
        )

    def stage_path():  # what the bat stage does per batch of items, without cache and files
        windows = stage_preprocess()
        outs = [
            model(torch.from_numpy(windows[s : s + batch_size]).to(device)) for s in range(0, len(windows), batch_size)
        ]
        direction = torch.cat([o.direction for o in outs]).float().cpu().numpy()
        distance = torch.cat([o.distance for o in outs]).float().cpu().numpy()
        return [
            (isdrama_cosine(direction[k], direction[pairs + k]), isdrama_cosine(distance[k], distance[pairs + k]))
            for k in range(pairs)
        ]

    windows = torch.from_numpy(stage_preprocess()).to(device)
    with torch.no_grad(), precision_scope("fp32-parity"):
        report(
            interleaved(
                {
                    "stage path: scipy resample + normalise + windows": stage_preprocess,
                    f"tensor path: bat_inputs ({device.type})": lambda: bat_inputs(both, sr),
                },
                repeat,
                device,
            ),
            pairs,
        )
        # The encoder passes dominate on CPU: one round after the warm-up.
        report(
            interleaved(
                {
                    "stage path end to end (preprocess, encoder, cosines)": stage_path,
                    f"tensor.bat_cosines end to end ({device.type})": lambda: bat_cosines(
                        model, g, i, sr, batch_size=batch_size
                    ),
                    "bare encoder on the same windows": lambda: embed_windows(model, windows, batch_size=batch_size),
                },
                1,
                device,
            ),
            pairs,
        )
        stage_cos = stage_path()
        scores = bat_cosines(model, g, i, sr, batch_size=batch_size)
        diff = max(
            max(abs(float(scores["ang_cos"][k]) - a), abs(float(scores["dis_cos"][k]) - d))
            for k, (a, d) in enumerate(stage_cos)
        )
        print(f"    max |cosine difference| tensor vs stage path: {diff:.2e}")
        reference = windows.cpu()
        for label, dtype in (("float64 (default)", None), ("float32", torch.float32)):
            ours = bat_inputs(both, sr, resample_dtype=dtype).windows.cpu()
            differ = int((ours != reference).sum())
            print(
                f"    encoder inputs vs the stage's, {label} resampling: {differ} of {reference.numel()} samples "
                f"differ, max |difference| {float((ours - reference).abs().max()):.2e} (peak {float(reference.abs().max()):.2f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=44100)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=8, help="encoder batch")
    parser.add_argument("--checkpoint", help="BAT checkpoint (default: the seed-0 stand-in, written to a temp dir)")
    parser.add_argument("--skip-bat", action="store_true", help="leave out the encoder (slow on CPU)")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch intra-op threads (default: torch's choice); scipy and the per-clip loops are single-threaded",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    load = os.getloadavg()
    print(
        f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} torch threads, "
        f"{os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
    )
    gt, gen = make_pairs(args.pairs, args.seconds, args.rate)
    bench_resample(gt, args.rate, device, args.repeat)
    bench_interaural(gt, gen, args.rate, device, args.repeat)
    if not args.skip_bat:
        bench_bat(gt, gen, args.rate, device, args.repeat, args.checkpoint, args.batch_size)
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


if __name__ == "__main__":
    main()
