"""Expected values for the fairplay-2019 parity test, from the *released* FAIR-Play evaluate.py on its own stack.

The released facebookresearch/2.5D-Visual-Sound ``evaluate.py`` is Python 2 (print statements), so
its metric functions (``normalize``, ``STFT_L2_distance``, ``Envelope_distance``) are loaded by their
source (ast) and called as its ``main`` calls them: ``librosa.load(path, sr=16000, mono=False)``,
``normalize`` of each clip (``--normalization True``). Run it in an environment WITHOUT torch that
has the 2019 stack (librosa < 0.9: resampy ``kaiser_best`` and reflect STFT padding; 0.9 already pads with zeros):

    python3 -m venv /tmp/fp2019
    /tmp/fp2019/bin/pip install librosa==0.8.1 numpy==1.23.5 numba==0.57.1 resampy==0.4.2 scipy==1.10.1 soundfile
    git --git-dir=<mirror of facebookresearch/2.5D-Visual-Sound> show HEAD:evaluate.py > /tmp/fp_evaluate.py
    /tmp/fp2019/bin/python scripts/fairplay_reference.py /tmp/fp_evaluate.py tests/data/pairs > expected.json

Pairs whose lengths differ after loading make the released code raise; they are listed as skipped.
"""

import ast
import json
import sys
from pathlib import Path

import librosa
import numpy as np
from scipy.signal import hilbert


def released(path: str) -> dict:
    text = Path(path).read_text()
    tree = ast.parse(text[: text.index("def main():")])  # main() is Python 2; the metric functions are not
    wanted = [
        n
        for n in tree.body
        if isinstance(n, ast.FunctionDef) and n.name in ("normalize", "STFT_L2_distance", "Envelope_distance")
    ]
    namespace = {"np": np, "librosa": librosa, "hilbert": hilbert}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), path, "exec"), namespace)
    return namespace


def main(evaluate_py: str, pairs: str) -> None:
    fns, root = released(evaluate_py), Path(pairs)
    out = {"librosa": librosa.__version__, "pairs": {}, "skipped": {}}
    for gt_path in sorted((root / "gt").glob("*.wav")):
        predicted, _ = librosa.load(str(root / "infer" / gt_path.name), sr=16000, mono=False)
        gt, _ = librosa.load(str(gt_path), sr=16000, mono=False)
        predicted, gt = fns["normalize"](predicted), fns["normalize"](gt)
        try:
            out["pairs"][gt_path.stem] = {
                "stft_distance": fns["STFT_L2_distance"](predicted, gt),
                "envelope_distance": fns["Envelope_distance"](predicted, gt),
            }
        except ValueError as exc:
            out["skipped"][gt_path.stem] = str(exc)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:3])
