"""Expected MBSTOI values from the Clarity challenge's own implementation (pyclarity), for the parity test.

pyclarity cannot live in spatialeval's environment (it pins torchaudio/lightning builds of another
torch), but its MBSTOI needs only numpy, scipy and pyyaml. Make a separate venv and run this with
it, from the repository root:

    python3 -m venv /tmp/clarity
    /tmp/clarity/bin/pip install numpy scipy pyyaml soundfile
    /tmp/clarity/bin/pip install --no-deps pyclarity==0.9.0
    /tmp/clarity/bin/python scripts/reference_mbstoi.py > tests/data/intelligibility/expected_mbstoi.json

(recorded with numpy 2.4.6, scipy 1.17.1, pyclarity 0.9.0). It calls
``clarity.evaluator.mbstoi.mbstoi(gt_left, gt_right, gen_left, gen_right, rate)`` on every pair of
tests/data/intelligibility (scripts/make_intelligibility_pairs.py) as float64 read with soundfile.
Clarity's MBSTOI is deterministic (the EC stage's jitter is averaged analytically, no random
numbers). It needs equal lengths and one rate: a longer generated clip is cut to the gt's length
first, as spatialeval's intelligibility stage does.
"""

import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import soundfile as sf
from clarity.evaluator.mbstoi import mbstoi

ROOT = Path("tests/data/intelligibility")


def main() -> None:
    values = {}
    for gt_path in sorted((ROOT / "gt").glob("*.flac")):
        gt, rate = sf.read(gt_path, dtype="float64")
        gen, gen_rate = sf.read(ROOT / "infer" / gt_path.name, dtype="float64")
        assert rate == gen_rate, gt_path.name
        gen = gen[: len(gt)]
        values[gt_path.stem] = float(mbstoi(gt[:, 0], gt[:, 1], gen[:, 0], gen[:, 1], rate))
        print(gt_path.stem, values[gt_path.stem], file=sys.stderr)
    print(
        json.dumps(
            {
                "produced_by": "scripts/reference_mbstoi.py with pyclarity "
                f"{version('pyclarity')} (numpy {np.__version__}, scipy {version('scipy')})",
                "mbstoi": values,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
