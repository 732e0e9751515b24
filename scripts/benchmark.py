#!/usr/bin/env python3
"""Throughput and memory benchmark of the evaluate pipeline (prints figures; not a test).

Synthesises N pairs of binaural speech-like audio (KEMAR-rendered, 44.1 kHz PCM16 by default), then
reports, for ``--device cpu|cuda|auto`` and ``--precision fp32|tf32|bf16``:

  * per stage: seconds per pair and pairs per second, audio already decoded (``--stage-timing``);
  * decoding: seconds per pair;
  * the pipeline in process (``evaluate()`` with ``--out``): pairs/s in steady state (the first chunk,
    which pays for warm-up, left out) and including model loading;
  * the pipeline as a whole process (``spatialeval run``, start-up and imports included);
  * the bare BAT encoder forward on the same encoder inputs and batch size; the pipeline / bare-encoder
    time ratio and the encoder's share of the pipeline's time;
  * GPU utilisation while the pipeline runs (NVML when ``pynvml`` is installed, else CUDA events around
    the encoder), on CUDA only;
  * ``--memory-sizes 100,2000``: peak RSS of fresh processes evaluating that many pairs;
  * ``--long-minutes 1,10,30``: peak RSS of fresh processes evaluating one pair of that length at
    44.1 kHz, per default stage (issue 8: memory bounded on long clips);
  * ``--frechet``: the Fréchet-distance part of ``compare-sets`` (both BAT distances with the default
    covariance and resamples) on random 768-d embeddings of 100 + 100 clips, against its goal (< 60 s);
  * ``--compare-sets N``: goal 1 end to end, ``compare-sets`` with the checkpoint on N + N synthesised clips
    (default options), the time inside the encoder clocked and the rest against its goal (< 60 s);
  * ``--startup``: a fresh process importing the CLI, and loading the BAT checkpoint;
  * ``--released-command CMD``: goal 3, whole processes against the released ISDrama code (interleaved
    ``--rounds``, medians, speed-ups in fp32 parity mode and with bf16 autocast, ratios to ≥ 1.4× / ≥ 4×);
  * ``--kernels``: ``device_kernels`` on the CPU, reference path vs batched kernels (time and difference);
  * with ``--stage-timing``, the time each stage spends inside the spatial encoder and outside it; the
    all-stage ratio is printed against the bat stage's single pass and with every encoder pass counted;
  * the issue-20 goals with the ratio of each figure to its goal (all-stage time ≤ 1.5× the bare
    encoder; the GPU throughput goals are only measured on a CUDA device).

    python scripts/benchmark.py --pairs 16 --seconds 10
    python scripts/benchmark.py --device cuda --precision bf16 --pairs 2048 --batch-size 64 --workers 12
    python scripts/benchmark.py --pairs 0 --memory-sizes 100,2000 --long-minutes 1,10,30
    python scripts/benchmark.py --pairs 0 --frechet --startup
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def synthesise(root: Path, n_pairs: int, seconds: float, sr: int = 44100) -> None:
    """n pairs under root/gt and root/infer: a few distinct speech-like sources tiled (fast to make)."""
    from spatialeval.synth import spatialize, speech_like

    rng = np.random.default_rng(0)
    sources = [speech_like(seconds, sr, f0=100 + 7 * k, seed=k) for k in range(4)]
    for i in range(n_pairs):
        azimuth = float(rng.uniform(-80, 80))
        for side, az in (("gt", azimuth), ("infer", azimuth + float(rng.normal(0, 10)))):
            path = root / side / f"utt{i:05d}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, 0.5 * spatialize(sources[i % len(sources)], sr, az), sr, subtype="PCM_16")


def long_pair(root: Path, minutes: float, sr: int = 44100) -> None:
    """One pair of ``minutes`` at 44.1 kHz, written block by block (a 10-s rendering tiled)."""
    from spatialeval.synth import spatialize, speech_like

    base = speech_like(10.0, sr, seed=1)
    for side, az in (("gt", 30.0), ("infer", 40.0)):
        rendered = 0.5 * spatialize(base, sr, az)
        (root / side).mkdir(parents=True, exist_ok=True)
        with sf.SoundFile(root / side / "long.wav", "w", sr, 2, "PCM_16") as handle:
            for _ in range(int(round(minutes * 6))):
                handle.write(rendered)


def make_config(args, stages: list[str]):
    from spatialeval.pipeline.config import config_from_dict

    autocast = "bf16" if args.precision == "bf16" else None
    return config_from_dict(
        {
            "stages": stages,
            "device": args.device,
            "tf32": args.precision == "tf32",
            "workers": args.workers,
            "chunk_size": args.chunk_size,
            "device_kernels": args.device_kernels,
            "bat": {"batch_size": args.batch_size, "autocast": autocast},
        }
    )


class EncoderClock:
    """Wall seconds spent inside the spatial encoder's ``embed`` (every stage's encoder passes: bat,
    trajectory's per-segment windows, ...) while the block runs; ``seconds`` accumulates."""

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        from spatialeval.models import spatial_encoder

        self._cls, self._embed = spatial_encoder.BATEncoder, spatial_encoder.BATEncoder.embed
        clock, embed = self, self._embed

        def timed(encoder, *args, **kwargs):
            start = time.perf_counter()
            try:
                return embed(encoder, *args, **kwargs)
            finally:
                clock.seconds += time.perf_counter() - start

        self._cls.embed = timed
        return self

    def __exit__(self, *exc):
        self._cls.embed = self._embed


def time_stages(root: Path, config, encoder_rows: dict | None = None) -> dict[str, float]:
    """Seconds per pair of decoding and of each stage alone on decoded audio; ``encoder_rows`` (when given)
    receives each stage's seconds per pair inside the spatial encoder."""
    from spatialeval.io.pairing import pair_directories
    from spatialeval.pipeline.loader import load_pair
    from spatialeval.pipeline.run.prepare import prepare_stages

    pairs = pair_directories(root / "gt", root / "infer").pairs
    start = time.perf_counter()
    loaded = [load_pair(p) for p in pairs]
    timings = {"decode": (time.perf_counter() - start) / len(pairs)}
    stages, statuses = prepare_stages(config)
    for name, status in statuses.items():
        if status.status != "ran":
            print(f"  stage {name} skipped: {status.reason[:120]}")
    chunk = max(1, config.chunk_size)
    for stage in stages:
        stage.compute_batch(loaded[:1])  # warm-up: model caches, numba compilation
        start = time.perf_counter()
        with EncoderClock() as clock:
            for i in range(0, len(loaded), chunk):
                for item in loaded[i : i + chunk]:
                    item.cache.clear()  # derived signals must be recomputed by every stage timed alone
                stage.compute_batch(loaded[i : i + chunk])
        timings[stage.name] = (time.perf_counter() - start) / len(loaded)
        if encoder_rows is not None:
            encoder_rows[stage.name] = clock.seconds / len(loaded)
    return timings


class GPUSampler:
    """Mean GPU utilisation (NVML) sampled every 50 ms while a block runs; None without pynvml or CUDA."""

    def __init__(self, device: str):
        self.values: list[int] = []
        self._stop = threading.Event()
        self._handle = None
        if device.startswith("cuda"):
            try:
                import pynvml

                pynvml.nvmlInit()
                index = int(device.split(":")[1]) if ":" in device else 0
                self._handle, self._nvml = pynvml.nvmlDeviceGetHandleByIndex(index), pynvml
            except Exception:
                self._handle = None

    def __enter__(self):
        if self._handle is not None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.values.append(self._nvml.nvmlDeviceGetUtilizationRates(self._handle).gpu)

    def __exit__(self, *exc):
        self._stop.set()
        if self._handle is not None:
            self._thread.join()

    @property
    def mean(self) -> float | None:
        return float(np.mean(self.values)) if self.values else None


def time_pipeline(root: Path, config) -> dict[str, float]:
    """In-process evaluate(): seconds per pair including model loading, and in steady state."""
    from spatialeval.pipeline.evaluate import evaluate

    marks: list[tuple[float, int, float]] = []  # (time, pairs done, encoder seconds so far)
    clock = EncoderClock()

    def progress(advance: int, total: int) -> None:
        done = (marks[-1][1] if marks else 0) + advance
        marks.append((time.perf_counter(), done, clock.seconds))

    out = root / f"out_{time.perf_counter_ns()}"
    start = time.perf_counter()
    with GPUSampler(config.resolved_device()) as sampler, clock:
        result = evaluate(root / "gt", root / "infer", config, out_dir=out, progress=progress)
    total = time.perf_counter() - start
    n = result.summary["n_items"]
    figures = {"with_start_s_per_pair": total / n, "gpu_utilisation_pct": sampler.mean}
    # steady state: from the end of the first chunk to the end (warm-up and model loading excluded)
    first = next(((t, d, e) for t, d, e in marks if d > 0), None)
    if first and marks[-1][1] > first[1]:
        pairs = marks[-1][1] - first[1]
        figures["steady_s_per_pair"] = (marks[-1][0] - first[0]) / pairs
        figures["steady_encoder_s_per_pair"] = (marks[-1][2] - first[2]) / pairs
    return figures


def time_whole_process(root: Path, args, stages: list[str], checkpoint: str, precision: str | None = None) -> float:
    """Seconds per pair of `spatialeval run` as a fresh process (imports, model loading, writing included),
    in ``precision`` (default ``--precision``)."""
    precision = precision or args.precision
    command = [
        sys.executable,
        "-m",
        "spatialeval.cli",
        "run",
        str(root / "gt"),
        str(root / "infer"),
        "--stages",
        ",".join(stages),
        "--ckpt",
        checkpoint,
        "--device",
        args.device,
        "--quiet",
        "--batch-size",
        str(args.batch_size),
        "--workers",
        str(args.workers),
        "--chunk-size",
        str(args.chunk_size),
        "--set",
        f"device_kernels={args.device_kernels}",
        "--out",
        str(root / f"cli_{time.perf_counter_ns()}"),
    ]
    if precision == "bf16":
        command += ["--autocast", "bf16"]
    if precision == "tf32":
        command += ["--tf32"]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) / args.pairs


def compare_with_released(root: Path, args, stages: list[str], checkpoint: str) -> dict[str, float]:
    """Goal 3: whole processes in interleaved rounds — the released code (``--released-command``, a shell
    command with ``{gt}``, ``{infer}``, ``{ckpt}`` and ``{out}`` filled in, computing IPD/ILD and the BAT
    cosines of the same pairs), ``spatialeval run`` in fp32 parity mode and with ``--autocast bf16``; the
    median seconds per pair of each and the speed-ups over the released code."""
    import shlex
    import statistics

    seconds: dict[str, list[float]] = {"released": [], "fp32": [], "bf16": []}
    load: list[float] = []  # 1-minute load average at the start of each round (a shared machine skews all three)
    for round_index in range(args.rounds):
        load.append(os.getloadavg()[0])
        out = root / f"released_{round_index}"
        command = args.released_command.format(
            gt=shlex.quote(str(root / "gt")),
            infer=shlex.quote(str(root / "infer")),
            ckpt=shlex.quote(checkpoint),
            out=shlex.quote(str(out)),
        )
        start = time.perf_counter()
        subprocess.run(command, shell=True, check=True, stdout=subprocess.DEVNULL)
        seconds["released"].append((time.perf_counter() - start) / args.pairs)
        for precision in ("fp32", "bf16"):
            seconds[precision].append(time_whole_process(root, args, stages, checkpoint, precision))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    for name, values in seconds.items():
        print(f"whole process, {name}: median {medians[name]:.3f} s/pair ({', '.join(f'{v:.3f}' for v in values)})")
    print(f"  load average (1 min) at the start of each round: {', '.join(f'{v:.2f}' for v in load)}")
    for precision, goal in (("fp32", 1.4), ("bf16", 4.0)):
        speedup = medians["released"] / medians[precision]
        medians[f"speed-up {precision}"] = speedup
        print(
            f"  goal 3, {precision}: speed-up over the released code {speedup:.2f}×; goal ≥ {goal:g}×: "
            f"{speedup / goal:.2f} of it"
        )
    return medians


def time_bare_encoder(root: Path, config, checkpoint: str) -> float:
    """Seconds per pair of the BAT forward alone, on already-prepared encoder inputs, same batch size."""
    import torch

    from spatialeval.features.resample import resample_polyphase
    from spatialeval.io.audio import load_audio
    from spatialeval.metrics.encoder_windows import encoder_windows, loudness_normalize
    from spatialeval.models.checkpoint import load_bat
    from spatialeval.precision import autocast, precision_scope

    files = sorted((root / "gt").glob("*.wav")) + sorted((root / "infer").glob("*.wav"))
    windows = []
    for path in files:
        clip = load_audio(path)
        samples = loudness_normalize(resample_polyphase(clip.samples, clip.sample_rate), -14.0)
        windows.append(encoder_windows(samples, "first-window"))
    device = config.resolved_device()
    model = load_bat(checkpoint, device).model
    if config.bat.autocast:  # the model the encoder runs under autocast (linear weights rounded once)
        from spatialeval.models.spatial_encoder import autocast_twin
        from spatialeval.precision import AUTOCAST_DTYPES

        model = autocast_twin(model, AUTOCAST_DTYPES[config.bat.autocast])
    inputs = torch.from_numpy(np.concatenate(windows)).to(device)
    batch = config.bat.batch_size
    with torch.no_grad(), precision_scope(config.precision_mode()), autocast(config.bat.autocast, device):
        model(inputs[:batch])
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        for i in range(0, len(inputs), batch):
            model(inputs[i : i + batch])
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    return (time.perf_counter() - start) / (len(inputs) / 2)


def time_kernels(root: Path, rounds: int = 3) -> dict[str, float]:
    """``device_kernels`` on the CPU: seconds per clip of the per-clip reference path and of the batched
    kernels, for BAT's encoder inputs (resample, loudness, 10-s window) and the isdrama IPD/ILD maps
    (median of ``rounds`` interleaved rounds), and the largest difference between the two paths' outputs."""
    import torch

    from spatialeval.features.resample import resample_polyphase
    from spatialeval.io.audio import load_audio
    from spatialeval.metrics.encoder_windows import encoder_windows, loudness_normalize
    from spatialeval.metrics.ipd_ild import isdrama_features, isdrama_features_batch
    from spatialeval.pipeline.device import padded_batch
    from spatialeval.training import bat_inputs

    clips = [load_audio(path) for path in sorted((root / "gt").glob("*.wav")) + sorted((root / "infer").glob("*.wav"))]
    rate = clips[0].sample_rate

    def windows_reference():
        return np.concatenate(
            [
                encoder_windows(loudness_normalize(resample_polyphase(c.samples, c.sample_rate), -14.0), "first-window")
                for c in clips
            ]
        )

    def windows_kernels():
        waves, lengths = padded_batch(clips, "cpu")
        return bat_inputs(waves, rate, lengths, mode="first-window", normalize_dbfs=-14.0).windows.numpy()

    def maps_reference():
        return [isdrama_features(c.samples, c.sample_rate) for c in clips]

    def maps_kernels():
        waves, lengths = padded_batch(clips, "cpu")
        batch = isdrama_features_batch(waves, lengths, rate)
        return [
            (batch.ipd[i, : int(batch.frames[i])].numpy(), batch.ild[i, : int(batch.frames[i])].numpy())
            for i in range(len(clips))
        ]

    paths = (windows_reference, windows_kernels, maps_reference, maps_kernels)
    times: dict[str, list[float]] = {path.__name__: [] for path in paths}
    outputs = {path.__name__: path() for path in paths}  # warm-up, and the outputs compared below
    with torch.no_grad():
        for _ in range(rounds):
            for path in paths:
                start = time.perf_counter()
                path()
                times[path.__name__].append((time.perf_counter() - start) / len(clips))
    figures = {f"{name} s/clip": float(np.median(values)) for name, values in times.items()}
    a, b = outputs["windows_reference"], outputs["windows_kernels"]
    figures["windows max |diff| / (eps32 · max |x|)"] = float(
        np.abs(a - b).max() / (np.finfo(np.float32).eps * np.abs(a).max())
    )
    worst = 0.0
    for (ipd_a, ild_a), (ipd_b, ild_b) in zip(outputs["maps_reference"], outputs["maps_kernels"]):
        for x, y in ((ipd_a, ipd_b), (ild_a, ild_b)):
            worst = max(worst, float(np.abs(x - y).max() / (np.finfo(np.float32).eps * max(np.abs(x).max(), 1e-30))))
    figures["IPD/ILD maps max |diff| / (eps32 · max |x|)"] = worst
    return figures


def time_frechet(n_clips: int = 100, dim: int = 768) -> float:
    """Seconds for the Fréchet part of compare-sets: both BAT distances (direction, distance) with their
    bootstrap intervals, default covariance and resamples, on random correlated embeddings of n + n clips."""
    from spatialeval.metrics.set_distances import compare_embedding_sets
    from spatialeval.pipeline.compare_sets import SetOptions

    options, rng = SetOptions(), np.random.default_rng(0)
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    start = time.perf_counter()
    for name in ("fd_direction", "fd_distance"):
        reference, generated = rng.normal(size=(n_clips, dim)) @ mixing, rng.normal(size=(n_clips, dim)) @ mixing + 0.1
        compare_embedding_sets(
            reference,
            generated,
            name=name,
            covariance=options.covariance,
            n_resamples=options.n_resamples_fd,
            confidence=options.confidence,
            seed=options.seed,
        )
    return time.perf_counter() - start


def time_compare_sets(root: Path, n_clips: int, seconds: float, config) -> dict[str, float]:
    """Goal 1 end to end: ``compare-sets`` (in process, default options: ITD KL/W1 and both BAT Fréchet
    distances with their resamples) on ``n_clips`` + ``n_clips`` synthesised clips, with the time inside
    the spatial encoder clocked; the goal bounds the time beyond the encoder."""
    from spatialeval.pipeline.compare_sets import compare_sets

    synthesise(root, n_clips, seconds)
    with EncoderClock() as clock:
        start = time.perf_counter()
        summary = compare_sets(root / "infer", root / "gt", config)
        total = time.perf_counter() - start
    missing = [name for name in ("fd_direction", "fd_distance") if not np.isfinite(summary.get(name, np.nan))]
    if missing:  # a time without the distances it is the time of would be a wrong figure
        why = summary.get("not_computable") or summary.get("settings", {}).get("embeddings")
        raise SystemExit(f"compare-sets computed no {', '.join(missing)}: {why}")
    return {"total_s": total, "encoder_s": clock.seconds, "beyond_encoder_s": total - clock.seconds}


def time_startup(checkpoint: str) -> dict[str, float]:
    """Seconds of a fresh process importing the CLI module, and of loading the BAT checkpoint (in process)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import spatialeval.cli"], check=True)
    figures = {"import spatialeval.cli (fresh process)": time.perf_counter() - start}
    from spatialeval.models.checkpoint import load_bat

    start = time.perf_counter()
    load_bat(checkpoint)
    figures["load BAT checkpoint"] = time.perf_counter() - start
    return figures


def print_goals(
    rows: dict[str, float], stages: list[str], device: str, precision: str, frechet_s: float | None
) -> None:
    """The issue-20 goals that this run measured, each with its ratio to the goal."""
    print("goals (issue 20):")
    if frechet_s is not None:
        print(
            f"  Fréchet part of compare-sets, 100 + 100 clips: {frechet_s:.1f} s; goal < 60 s: {frechet_s / 60:.2f} of it"
        )
    if {"bare BAT", "pipeline (steady)"} <= rows.keys():
        steady = rows["pipeline (steady)"]
        ratio = steady / rows["bare BAT"]
        print(
            f"  stages {','.join(stages)}: {steady:.2f} s/pair = {ratio:.2f}× the bare encoder's one pass per clip "
            f"(the bat stage's); goal ≤ 1.5×: {ratio / 1.5:.2f} of it"
        )
        encoder = rows.get("encoder in pipeline")
        if encoder:
            print(
                f"  the same, every encoder pass counted as encoder time (trajectory's per-segment windows "
                f"included): {encoder:.2f} s/pair in the encoder, {steady - encoder:.2f} s/pair outside it = "
                f"{steady / encoder:.2f}× the encoder's time; goal ≤ 1.5×: {steady / encoder / 1.5:.2f} of it"
            )
    if not device.startswith("cuda"):
        print("  GPU throughput (≥ 500 pairs/s bf16, ≥ 150 pairs/s fp32): not measured: no CUDA device in this run")
    elif "pipeline (steady)" in rows:
        goal = 500.0 if precision == "bf16" else 150.0
        pairs_s = 1 / rows["pipeline (steady)"]
        print(f"  GPU pipeline ({precision}): {pairs_s:.0f} pairs/s; goal ≥ {goal:.0f}: {pairs_s / goal:.2f} of it")


# Peak RSS of this process since it started. VmHWM belongs to the address space, which execve replaces;
# getrusage's ru_maxrss would also count the (large) benchmark process the child was forked from.
PEAK = "import re\nprint(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) / 1024.0)\n"


def memory_run(root: Path, stages: list[str], checkpoint: str | None) -> float:
    """Peak RSS (MiB) of a fresh process evaluating root/gt vs root/infer."""
    code = (
        f"from spatialeval.pipeline.evaluate import evaluate\n"
        f"evaluate({str(root / 'gt')!r}, {str(root / 'infer')!r}, {{'stages': {stages!r}}}, checkpoint={checkpoint!r})\n"
        + PEAK
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SPATIALEVAL_CKPT": ""},
    )
    return float(out.stdout.strip().splitlines()[-1])


def baseline_rss() -> float:
    code = "import torch, spatialeval.pipeline.evaluate\n" + PEAK
    return float(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=16, help="pairs for the timings (0: skip them)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--stages", default="interaural,bat", help="stages for the pipeline timing")
    parser.add_argument("--ckpt", help="BAT checkpoint (default: a generated stand-in; same speed as the real one)")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--precision",
        choices=["fp32", "tf32", "bf16"],
        default="fp32",
        help="fp32: parity mode (IEEE float32, TF32 off); tf32; bf16 autocast for the encoder",
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--chunk-size", type=int, default=4)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--device-kernels", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--stage-timing", action="store_true", help="also time each stage alone")
    parser.add_argument("--whole-process", action="store_true", help="also time `spatialeval run` as a process")
    parser.add_argument("--memory-sizes", default="", help="comma list of pair counts for the peak-memory scan")
    parser.add_argument("--memory-stages", default="interaural", help="stages used in the memory scan")
    parser.add_argument(
        "--long-minutes", default="", help="comma list of pair lengths (minutes) for the long-clip scan"
    )
    parser.add_argument(
        "--long-stages", default="", help="stages for the long-clip scan (default: every default stage)"
    )
    parser.add_argument(
        "--frechet", action="store_true", help="time the Fréchet part of compare-sets (100 + 100 clips)"
    )
    parser.add_argument(
        "--compare-sets",
        type=int,
        default=0,
        metavar="N",
        help="goal 1 end to end: time compare-sets with the checkpoint on N + N synthesised clips of --seconds",
    )
    parser.add_argument("--startup", action="store_true", help="time a fresh CLI import and the checkpoint load")
    parser.add_argument(
        "--released-command",
        help="goal 3: shell command running the released ISDrama evaluation (IPD/ILD + BAT cosines) on "
        "{gt} {infer} with checkpoint {ckpt}, writing under {out}; timed against `spatialeval run` fp32 and bf16",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of --released-command")
    parser.add_argument(
        "--kernels",
        action="store_true",
        help="device_kernels on the CPU: time the reference path and the batched kernels, compare their outputs",
    )
    args = parser.parse_args()

    import torch

    stages = args.stages.split(",")
    config = make_config(args, stages)
    figures: dict = {
        "device": config.resolved_device(),
        "precision": args.precision,
        "torch_threads": torch.get_num_threads(),
        "pairs": args.pairs,
        "seconds": args.seconds,
        "batch_size": args.batch_size,
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        checkpoint = args.ckpt
        if checkpoint is None:
            from spatialeval.models.standins.bat import write_test_checkpoint

            checkpoint = str(write_test_checkpoint(root / "bat_stand_in.pth"))
        config.bat.checkpoint = checkpoint
        if args.pairs:
            synthesise(root / "data", args.pairs, args.seconds)
            print(
                f"device {figures['device']}, precision {args.precision}, torch threads {figures['torch_threads']}, "
                f"{args.pairs} pairs of {args.seconds:g} s at 44.1 kHz, batch {args.batch_size}, chunk "
                f"{args.chunk_size}, workers {args.workers}, device kernels {args.device_kernels}"
            )
            rows, encoder_rows = {}, {}
            if args.stage_timing:
                rows.update(time_stages(root / "data", config, encoder_rows))
                for name, seconds in encoder_rows.items():
                    if seconds:
                        print(
                            f"  stage {name}: {rows[name]:.3f} s/pair, of which {seconds:.3f} in the encoder "
                            f"and {rows[name] - seconds:.3f} outside it"
                        )
            pipeline = time_pipeline(root / "data", config)
            rows["pipeline (steady)"] = pipeline.get("steady_s_per_pair", float("nan"))
            if pipeline.get("steady_encoder_s_per_pair"):
                rows["encoder in pipeline"] = pipeline["steady_encoder_s_per_pair"]
            rows["pipeline (+load)"] = pipeline["with_start_s_per_pair"]
            if args.whole_process:
                rows["whole process"] = time_whole_process(root / "data", args, stages, checkpoint)
            if "bat" in stages:
                rows["bare BAT"] = time_bare_encoder(root / "data", config, checkpoint)
            print(f"{'what':<18} {'s/pair':>8} {'pairs/s':>9}")
            for name, seconds in rows.items():
                print(f"{name:<18} {seconds:8.4f} {1 / seconds if seconds else float('inf'):9.2f}")
            if "bat" in stages:
                steady = rows["pipeline (steady)"]
                print(
                    f"pipeline / bare encoder time: {steady / rows['bare BAT']:.3f} (steady), "
                    f"{rows['pipeline (+load)'] / rows['bare BAT']:.3f} (with model loading); "
                    f"encoder share of the pipeline's time: {rows['bare BAT'] / steady:.1%}"
                )
            if pipeline.get("gpu_utilisation_pct") is not None:
                print(f"GPU utilisation during the pipeline: {pipeline['gpu_utilisation_pct']:.0f} %")
            figures.update(s_per_pair=rows, gpu_utilisation_pct=pipeline.get("gpu_utilisation_pct"))
        if args.released_command and args.pairs:
            figures["released_comparison"] = compare_with_released(root / "data", args, stages, checkpoint)
        if args.kernels and args.pairs:
            figures["kernels_cpu"] = time_kernels(root / "data")
            for name, value in figures["kernels_cpu"].items():
                print(f"device_kernels on the CPU: {name}: {value:.4g}")
        frechet_s = None
        if args.frechet:
            frechet_s = figures["frechet_s"] = time_frechet()
        if args.compare_sets:
            sets = figures["compare_sets"] = time_compare_sets(root / "sets", args.compare_sets, args.seconds, config)
            print(
                f"compare-sets --ckpt, {args.compare_sets} + {args.compare_sets} clips of {args.seconds:g} s: "
                f"{sets['total_s']:.1f} s, of which {sets['encoder_s']:.1f} s in the encoder"
            )
            print(
                f"  goal 1: {sets['beyond_encoder_s']:.1f} s beyond the encoder; goal < 60 s: "
                f"{sets['beyond_encoder_s'] / 60:.2f} of it"
            )
        if args.startup:
            figures["startup_s"] = time_startup(checkpoint)
            for name, seconds in figures["startup_s"].items():
                print(f"{name}: {seconds:.2f} s")
        print_goals(figures.get("s_per_pair", {}), stages, figures["device"], args.precision, frechet_s)
        if "released_comparison" not in figures:
            print("  goal 3 (whole process against the released ISDrama code): not measured: no --released-command")
        if args.memory_sizes:
            scan = {}
            for n in (int(v) for v in args.memory_sizes.split(",")):
                folder = root / f"mem{n}"
                synthesise(folder, n, args.seconds)
                scan[n] = memory_run(folder, args.memory_stages.split(","), checkpoint)
                print(f"peak RSS, {n} pairs ({args.memory_stages}): {scan[n]:.0f} MiB")
            figures["peak_rss_mib_by_pairs"] = scan
        if args.long_minutes:
            print(f"process baseline (torch + spatialeval imported): {baseline_rss():.0f} MiB")
            long_scan: dict = {}
            from spatialeval.pipeline.config import DEFAULT_STAGES

            for minutes in (float(v) for v in args.long_minutes.split(",")):
                folder = root / f"long{minutes:g}"
                long_pair(folder, minutes)
                for stage in args.long_stages.split(",") if args.long_stages else DEFAULT_STAGES:
                    start = time.perf_counter()
                    mib = memory_run(folder, [stage], checkpoint)
                    long_scan[f"{minutes:g} min {stage}"] = mib
                    print(
                        f"peak RSS, one {minutes:g}-min 44.1 kHz pair, stage {stage:<10}: {mib:7.0f} MiB "
                        f"({time.perf_counter() - start:.0f} s)",
                        flush=True,
                    )
                import shutil

                shutil.rmtree(folder)
            figures["peak_rss_mib_long"] = long_scan
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
