#!/usr/bin/env python3
"""Throughput and memory benchmark of the evaluate pipeline (prints figures; not a test).

Synthesises N pairs of binaural speech-like audio (KEMAR-rendered, 32 kHz), then reports:
  * per stage: seconds per pair and pairs per second (audio already decoded);
  * decoding: seconds per pair;
  * the whole pipeline (evaluate() with --out, all requested stages): seconds per pair;
  * the bare BAT encoder forward on the same inputs, and pipeline/encoder time ratio
    (for the spatial stages, interaural + bat);
  * peak resident memory of a pipeline run in a fresh process for each --memory-sizes N.

    python scripts/benchmark.py --pairs 16 --seconds 10 --memory-sizes 100,400
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def synthesise(root: Path, n_pairs: int, seconds: float, sr: int = 32000) -> None:
    from spatialeval.synth import spatialize, speech_like

    rng = np.random.default_rng(0)
    for i in range(n_pairs):
        source = speech_like(seconds, sr, f0=100 + 5 * (i % 20), seed=i)
        azimuth = float(rng.uniform(-80, 80))
        for side, az in (("gt", azimuth), ("infer", azimuth + float(rng.normal(0, 10)))):
            path = root / side / f"utt{i:05d}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, 0.5 * spatialize(source, sr, az), sr, subtype="PCM_16")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_stages(root: Path, config, checkpoint: str) -> dict[str, float]:
    from spatialeval.io.pairing import pair_directories
    from spatialeval.pipeline.evaluate import load_pair, prepare_stages

    pairs = pair_directories(root / "gt", root / "infer").pairs
    start = time.perf_counter()
    loaded = [load_pair(p) for p in pairs]
    timings = {"decode": (time.perf_counter() - start) / len(pairs)}
    stages, statuses = prepare_stages(config, checkpoint)
    for name, status in statuses.items():
        if status.status != "ran":
            print(f"  stage {name} skipped: {status.reason}")
    chunk = max(1, config.bat.batch_size // 2)
    for stage in stages:
        stage.compute_batch(loaded[:1])  # warm-up: model caches, numba compilation
        start = time.perf_counter()
        for i in range(0, len(loaded), chunk):
            for item in loaded[i:i + chunk]:
                item.cache.clear()  # derived signals must be recomputed by every stage timed alone
            stage.compute_batch(loaded[i:i + chunk])
        timings[stage.name] = (time.perf_counter() - start) / len(loaded)
    return timings


def time_bare_encoder(root: Path, config, checkpoint: str) -> float:
    """Seconds per pair of the BAT forward alone, on already-prepared 10-s inputs, same batch size."""
    import torch

    from spatialeval.io.audio import load_audio
    from spatialeval.models.checkpoint import load_bat
    from spatialeval.metrics.embedding_cosine import encoder_windows, loudness_normalize

    files = sorted((root / "gt").glob("*.wav")) + sorted((root / "infer").glob("*.wav"))
    windows = np.concatenate([encoder_windows(loudness_normalize(load_audio(f).samples, -14.0), "isdrama") for f in files])
    model = load_bat(checkpoint, config.resolved_device()).model
    batch = config.bat.batch_size
    with torch.no_grad():
        model(torch.from_numpy(windows[:batch]).to(config.resolved_device()))
        start = time.perf_counter()
        for i in range(0, len(windows), batch):
            model(torch.from_numpy(windows[i:i + batch]).to(config.resolved_device()))
        if config.resolved_device().startswith("cuda"):
            torch.cuda.synchronize()
    return (time.perf_counter() - start) / (len(windows) / 2)


def memory_run(n_pairs: int, seconds: float, stages: str, checkpoint: str) -> float:
    """Peak RSS (MiB) of a fresh process evaluating n_pairs."""
    code = f"""
import resource, sys, tempfile
from pathlib import Path
sys.path.insert(0, {str(Path(__file__).parent)!r})
from benchmark import synthesise
from spatialeval.pipeline.evaluate import evaluate
with tempfile.TemporaryDirectory() as tmp:
    root = Path(tmp)
    synthesise(root, {n_pairs}, {seconds})
    evaluate(root / "gt", root / "infer", {{"stages": {stages.split(',')!r}}}, out_dir=root / "out", checkpoint={checkpoint!r})
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--stages", default="interaural,bat", help="stages for the whole-pipeline timing")
    parser.add_argument("--ckpt", help="BAT checkpoint (default: a generated stand-in; same speed as the real one)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--autocast", choices=["bf16", "fp16"])
    parser.add_argument("--memory-sizes", default="", help="comma list of pair counts for the peak-memory scan")
    parser.add_argument("--memory-stages", default="interaural", help="stages used in the memory scan")
    args = parser.parse_args()

    import torch

    from spatialeval.pipeline.config import config_from_dict
    from spatialeval.pipeline.evaluate import evaluate

    config = config_from_dict({"stages": args.stages.split(","), "device": args.device,
                               "bat": {"batch_size": args.batch_size, "autocast": args.autocast}})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        checkpoint = args.ckpt
        if checkpoint is None:
            from spatialeval.models.standins.bat import write_test_checkpoint

            checkpoint = str(write_test_checkpoint(root / "bat_stand_in.pth"))
        synthesise(root, args.pairs, args.seconds)
        print(f"device {config.resolved_device()}, torch threads {torch.get_num_threads()}, "
              f"{args.pairs} pairs of {args.seconds:g} s, batch {args.batch_size}, autocast {args.autocast}")
        per_stage = time_stages(root, config, checkpoint)
        start = time.perf_counter()
        evaluate(root / "gt", root / "infer", config, out_dir=root / "out", checkpoint=checkpoint)
        pipeline = (time.perf_counter() - start) / args.pairs
        encoder = time_bare_encoder(root, config, checkpoint) if "bat" in config.stages else float("nan")
        print(f"{'stage':<12} {'s/pair':>8} {'pairs/s':>8}")
        for name, seconds in {**per_stage, "pipeline": pipeline, "bare BAT": encoder}.items():
            print(f"{name:<12} {seconds:8.3f} {1 / seconds if seconds else float('inf'):8.2f}")
        if "bat" in config.stages:
            print(f"pipeline / bare encoder time: {pipeline / encoder:.3f}")
        print(f"peak RSS of this process: {peak_rss_mib():.0f} MiB")
        figures = {"per_stage_s_per_pair": per_stage, "pipeline_s_per_pair": pipeline,
                   "bare_encoder_s_per_pair": encoder, "ratio": pipeline / encoder if encoder == encoder else None}
        if args.memory_sizes:
            scan = {int(n): memory_run(int(n), args.seconds, args.memory_stages, checkpoint)
                    for n in args.memory_sizes.split(",")}
            for n, mib in scan.items():
                print(f"peak RSS, {n} pairs ({args.memory_stages}): {mib:.0f} MiB")
            figures["peak_rss_mib"] = scan
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
