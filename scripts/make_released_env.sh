#!/usr/bin/env bash
# Build an isolated environment that runs the *released* ISDrama evaluation code (issue 20, goal 3:
# whole-process speed of spatialeval against the released code), without touching the project's venv.
#
#   PROJECT_PYTHON=/path/to/project/.venv/bin/python ISDRAMA_GIT=/path/or/url/of/ISDrama.git \
#       bash scripts/make_released_env.sh [RELENV]          # RELENV defaults to /tmp/relenv
#
# What it makes:
#   RELENV/                a venv whose .pth appends the project venv's site-packages, so torch (the pinned
#                          CPU build), numpy, scipy, librosa, soundfile, numba, pandas, sklearn come from there
#   RELENV/isdrama/        the released code at commit ISDRAMA_COMMIT, with the patches listed below
#   RELENV/shims/          our own small module(s) for what cannot run under the pinned torch (listed below)
#
# From PyPI, always with --no-deps and the project's constraints (so pip never brings another torch):
#   timm==0.3.2 (the version the release asks for; then the release's own timm_patch/patch.sh is applied,
#   as its README says), tensorboard + absl-py (main.py imports torch.utils.tensorboard), h5py and
#   opencv-python-headless (imported by data/dataset.py), torchvision / torchaudio (imported by timm,
#   spatial_eva.py and gen_ipd_ild.py).
#
# Where the pinned torch forces a change (nothing here changes a number the release computes):
#   * torchaudio: its compiled extension (lib/*.so) is built for another torch and cannot load. It is moved
#     aside; torchaudio then imports as pure Python (its own documented fallback when the library file is
#     absent: _IS_TORCHAUDIO_EXT_AVAILABLE = False). transforms.Resample (used by gen_ipd_ild.py) and
#     TimeMasking / FrequencyMasking (built in SpatialEva.__init__, applied only in training) are the real
#     torchaudio Python code and need no extension.
#   * torchaudio.load: since torchaudio 2.9 it decodes through torchcodec (another compiled extension for
#     another torch). gen_ipd_ild.py's call is replaced by shims/released_audio_io.load, which reads with
#     soundfile as float32, channels first: for PCM WAV this is what torchaudio.load(normalize=True)
#     returns (integer samples / 2^(bits-1)), shape (channels, frames), and the file's sample rate.
#   * torchvision: its compiled ops cannot load either; torchvision's Python still imports except that
#     _meta_registrations.py registers fake kernels for torchvision::nms / qnms unconditionally, which fails
#     without the ops. Those two registrations are skipped when the ops are absent (as torchvision already
#     does for every other op there). timm uses only torchvision.transforms (training-time data code).
#
# Patches to the released code (RELENV/isdrama), each a bug that stops the release from running as shipped:
#   * evaluate/gen_ipd_ild.py: __main__ calls extract_feature(audio_file) without the output directory the
#     function requires -> extract_feature(audio_file, args.output_dir).
#   * evaluate/gen_ipd_ild.py: after `import torchaudio`, torchaudio.load = the soundfile reader above.
# Not patched but worked around by the driver (scripts/released_isdrama.sh): eval.sh's dataset name
# (mrsdrama; main.py accepts only mrsaudio), its undefined variables, missing line continuation and
# misspelled script; torch.distributed.launch (main.py is run as a plain process, which its
# init_distributed_mode supports: "Not using distributed mode"); torch.load's weights_only default (the
# checkpoint holds an argparse.Namespace: TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1, torch's documented switch).
set -euo pipefail

RELENV=${1:-${RELENV:-/tmp/relenv}}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z ${PROJECT_PYTHON:-} ]]; then
    if [[ -x $HERE/.venv/bin/python ]]; then PROJECT_PYTHON=$HERE/.venv/bin/python; else PROJECT_PYTHON=python3; fi
fi
# a clone or mirror (bare is fine) of the public AaronZ345/ISDrama repository, as a path or a git URL
ISDRAMA_GIT=${ISDRAMA_GIT:?set ISDRAMA_GIT to a clone, mirror or git URL of the AaronZ345/ISDrama repository}
ISDRAMA_COMMIT=${ISDRAMA_COMMIT:-cc8693a1271faee95bfd1df0b4947b981da80544}
CONSTRAINTS=$HERE/constraints.txt

PROJECT_SITE=$("$PROJECT_PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
PYVER=$("$PROJECT_PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
"$PROJECT_PYTHON" -c 'import torch, numpy, scipy, librosa, soundfile, numba, pandas, sklearn, tqdm' \
    || { echo "PROJECT_PYTHON=$PROJECT_PYTHON lacks the project's packages" >&2; exit 1; }

# a venv with its own pip, from the interpreter the project's venv was made from
BASE_PYTHON=$("$PROJECT_PYTHON" -c 'import sys, os; print(os.path.join(sys.base_prefix, "bin", "python3"))')
rm -rf "$RELENV"
"$BASE_PYTHON" -m venv "$RELENV"
SITE=$("$RELENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# appended after the venv's own site-packages: what is installed here wins, the rest comes from the project
echo "$PROJECT_SITE" > "$SITE/zz_project_site.pth"
"$RELENV/bin/python" -c 'import torch; print("torch", torch.__version__, "from", torch.__file__)'

PIP=("$RELENV/bin/pip" install --quiet --no-deps -c "$CONSTRAINTS")
"${PIP[@]}" timm==0.3.2 tensorboard==2.21.0 absl-py==2.5.1 h5py==3.16.0 opencv-python-headless==5.1.0.95 \
    torchvision==0.29.1 torchaudio==2.11.1
"$RELENV/bin/python" -c 'import torch, sys; sys.exit(0 if torch.__file__.startswith(sys.argv[1]) else 1)' \
    "$PROJECT_SITE" || { echo "pip brought another torch into $RELENV" >&2; exit 1; }

# torchaudio without its compiled extension (see the header)
mkdir -p "$RELENV/disabled_extensions"
mv "$SITE"/torchaudio/lib/*.so "$RELENV/disabled_extensions/"
# torchvision: skip the nms/qnms fake registrations when its compiled ops are absent (see the header)
sed -i 's/^@torch.library.register_fake("torchvision::\(q\?nms\)")/@(torch.library.register_fake("torchvision::\1") if torchvision.extension._has_ops() else (lambda f: f))/' \
    "$SITE/torchvision/_meta_registrations.py"
[[ $(grep -c '_has_ops() else (lambda f: f)' "$SITE/torchvision/_meta_registrations.py") == 2 ]] \
    || { echo "torchvision _meta_registrations.py patch did not apply" >&2; exit 1; }

# the released code at a fixed commit
mkdir -p "$RELENV/isdrama"
if [[ -d $ISDRAMA_GIT ]]; then
    git -C "$ISDRAMA_GIT" archive "$ISDRAMA_COMMIT" | tar -x -C "$RELENV/isdrama"
else
    git clone --quiet "$ISDRAMA_GIT" "$RELENV/isdrama.git"
    git -C "$RELENV/isdrama.git" archive "$ISDRAMA_COMMIT" | tar -x -C "$RELENV/isdrama"
    rm -rf "$RELENV/isdrama.git"
fi

# the release's own timm patch, as its README says (it copies into $CONDA_PREFIX/lib/pythonX.Y/site-packages)
(cd "$RELENV/isdrama" && PATH="$RELENV/bin:$PATH" CONDA_PREFIX="$RELENV" bash timm_patch/patch.sh)
[[ -d $RELENV/lib/python$PYVER/site-packages/timm ]] || { echo "timm not where patch.sh looked" >&2; exit 1; }

# our soundfile reader standing in for torchaudio.load (see the header)
mkdir -p "$RELENV/shims"
cat > "$RELENV/shims/released_audio_io.py" <<'EOF'
"""torchaudio.load(path) for PCM/float WAV, as torchaudio returns it with normalize=True: float32 samples in
[-1, 1) (integers / 2**(bits - 1)), shape (channels, frames), and the file's sample rate. Read with
soundfile because torchaudio >= 2.9 decodes through torchcodec, whose compiled extension does not match
the pinned torch."""

import soundfile
import torch


def load(path, *args, **kwargs):
    if args or kwargs:
        raise TypeError("released_audio_io.load takes only a path")
    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return torch.from_numpy(data.T.copy()), rate
EOF
echo "$RELENV/shims" > "$SITE/released_shims.pth"

GEN=$RELENV/isdrama/evaluate/gen_ipd_ild.py
sed -i 's/^        extract_feature(audio_file)$/        extract_feature(audio_file, args.output_dir)/' "$GEN"
sed -i 's/^import torchaudio$/import torchaudio\nimport released_audio_io\ntorchaudio.load = released_audio_io.load  # patched: see scripts\/make_released_env.sh/' "$GEN"
grep -q 'extract_feature(audio_file, args.output_dir)' "$GEN" && grep -q '^torchaudio.load = released_audio_io.load' "$GEN" \
    || { echo "gen_ipd_ild.py patches did not apply" >&2; exit 1; }

# every module the three released programs import must now import
(cd "$RELENV/isdrama" && "$RELENV/bin/python" -c '
import sys
sys.argv = ["main.py"]
import main, engine_eval, spatial_eva, data.dataset  # noqa: F401
sys.path.insert(0, "evaluate")
import importlib
importlib.import_module("gen_ipd_ild"); importlib.import_module("evaluate")
print("released modules import")')
echo "released ISDrama environment ready in $RELENV"
