"""Writes torchaudio_float32.json: rows of the kernel torchaudio.transforms.Resample(orig, 32000,
dtype=torch.float32) builds (the released ISDrama gen_ipd_ild.py's resampler), for tests/test_resample_torch.py.

Run in the released environment (scripts/make_released_env.sh), from the repository root:

    /tmp/relenv/bin/python tests/data/sinc_kernel/make_reference.py

Not run by the tests (torchaudio is not a dependency of the project).
"""

import json
import math
import sys

import torch
import torchaudio

ROWS = {44100: [0, 1, 163, 182, 319], 48000: None, 16000: None}  # None: every row (output phase); row 182 holds the
# largest difference from the float64-computed kernel (1.5e-5)
out = {
    "produced_by": "/tmp/relenv/bin/python tests/data/sinc_kernel/make_reference.py",
    "torchaudio": torchaudio.__version__,
    "torch": torch.__version__,
    "call": "torchaudio.transforms.Resample(orig, 32000, dtype=torch.float32).kernel[:, 0, :]",
    "kernels": {},
}
for orig, rows in ROWS.items():
    kernel = torchaudio.transforms.Resample(orig, 32000, dtype=torch.float32).kernel[:, 0, :]
    rows = list(range(kernel.shape[0])) if rows is None else rows
    g = math.gcd(orig, 32000)
    out["kernels"][str(orig)] = {
        "reduced": [orig // g, 32000 // g],
        "shape": list(kernel.shape),
        "rows": rows,
        "values": [[float(v) for v in kernel[r].tolist()] for r in rows],  # float32 values, exact as float64
    }
json.dump(out, sys.stdout if len(sys.argv) < 2 else open(sys.argv[1], "w"), indent=None)
