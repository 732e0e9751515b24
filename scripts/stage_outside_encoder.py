"""Seconds per pair each stage spends outside the spatial encoder, each stage alone on decoded pairs (not a test).

    PYTHONPATH=TREE/src python scripts/stage_outside_encoder.py --ckpt stand-in.pth --pairs 2 \
        --stages interaural,bat,cues,trajectory,binaural_gen --no-trajectory-bat

As ``benchmark.py --stage-timing``: synthesised 10-s 44.1-kHz pairs (the benchmark's), one warm-up pair per
stage, then each stage's ``compute_batch`` pair by pair with the item's derived signals cleared and the
encoder clocked; prints wall, encoder and outside seconds per pair and the process CPU time.
``--no-trajectory-bat`` times trajectory's checkpoint-free track without its 10 encoder passes per clip.
Run it once per tree (``PYTHONPATH``), alternating, to compare two versions.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchmark  # noqa: E402  (the benchmark's synthesis, config and encoder clock)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--stages", default="interaural,bat,cues,trajectory,binaural_gen")
    parser.add_argument("--data", help="folder with gt/ and infer/ (default: synthesised in a temporary folder)")
    parser.add_argument("--no-trajectory-bat", action="store_true")
    args = parser.parse_args()

    from spatialeval.io.pairing import pair_directories
    from spatialeval.pipeline.loader import load_pair
    from spatialeval.pipeline.run.prepare import prepare_stages

    options = SimpleNamespace(
        precision="fp32", device="cpu", workers=0, chunk_size=1, device_kernels="auto", batch_size=8
    )
    config = benchmark.make_config(options, args.stages.split(","))
    config.bat.checkpoint = args.ckpt
    config.trajectory.bat = not args.no_trajectory_bat
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.data) if args.data else Path(tmp)
        if not (root / "gt").is_dir():
            benchmark.synthesise(root, args.pairs, 10.0)
        loaded = [load_pair(p) for p in pair_directories(root / "gt", root / "infer").pairs]
        stages, _ = prepare_stages(config)
        for stage in stages:
            stage.compute_batch(loaded[:1])  # warm-up: imports, model caches
            wall, cpu = time.perf_counter(), time.process_time()
            with benchmark.EncoderClock() as clock:
                for item in loaded:
                    item.cache.clear()
                    stage.compute_batch([item])
            n = len(loaded)
            wall, cpu = (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n
            inside = clock.seconds / n
            print(
                f"{stage.name}: {wall:.3f} s/pair, encoder {inside:.3f}, outside {wall - inside:.3f}, CPU {cpu:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
