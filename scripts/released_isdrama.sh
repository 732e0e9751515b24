#!/usr/bin/env bash
# Run the *released* ISDrama evaluation (IPD/ILD MAE + BAT angle/distance cosines) on GT and INFER dirs,
# the way its evaluate/eval.sh means to, as separate processes, on the CPU. For issue 20 goal 3:
#
#   python scripts/benchmark.py --pairs 16 --seconds 10 --stages interaural,bat --ckpt CKPT --device cpu \
#       --released-command 'bash scripts/released_isdrama.sh {gt} {infer} {ckpt} {out}' --rounds 3
#
#   bash scripts/released_isdrama.sh GT_DIR INFER_DIR CKPT OUT_DIR
#
# Needs the environment built by scripts/make_released_env.sh (RELENV, default /tmp/relenv; see that
# script's header for every shim and patch). The steps, as eval.sh lists them:
#   1. main.py --eval --model build_EVA on GT, then on INFER (BAT embeddings -> OUT/outputs/{gt,infer}/npy);
#      eval.sh's batch size 32 and 4 loader workers (RELEASED_BATCH_SIZE / RELEASED_NUM_WORKERS override);
#   2. evaluate/gen_ipd_ild.py on INFER, then on GT (IPD/ILD features into the same folders);
#   3. evaluate/evaluate.py in OUT (it reads ./outputs/infer/npy and ./outputs/gt/npy) prints the metrics.
# Differences from eval.sh, none of which changes what is computed: main.py runs as a plain process
# (no torch.distributed.launch: its init_distributed_mode then runs undistributed) with --device cpu;
# --dataset mrsaudio (the only choice main.py accepts; eval.sh's "mrsdrama" is rejected); eval.sh's
# undefined --audioset_* variables are left out; TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 because the checkpoint
# holds an argparse.Namespace, which torch >= 2.6's default weights_only load refuses.
#
# With RELEASED_JSON=PATH it also writes the per-pair values at full precision, computed by the release's
# own evaluate.calculate_mae_time / matrix_cosine_similarity on the files it saved (parity checks; leave it
# unset when timing).
set -euo pipefail

if [[ $# -ne 4 ]]; then
    echo "usage: $0 GT_DIR INFER_DIR CKPT OUT_DIR" >&2
    exit 2
fi
abs() { (cd "$1" && pwd); }
GT=$(abs "$1")
INFER=$(abs "$2")
CKPT=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
OUT=$4
RELENV=${RELENV:-/tmp/relenv}
PY=$RELENV/bin/python
SRC=$RELENV/isdrama
[[ -x $PY && -f $SRC/main.py ]] || { echo "no released environment in $RELENV: run scripts/make_released_env.sh" >&2; exit 1; }

mkdir -p "$OUT/outputs/gt/npy" "$OUT/outputs/infer/npy" "$OUT/outputs/log"
cd "$OUT"
export TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1
unset RANK WORLD_SIZE LOCAL_RANK SLURM_PROCID

# each step's output (warnings, progress bars, the model dump) goes to OUT/outputs/log/STEP.txt; on failure
# its tail is shown; evaluate.py's metric lines are printed
step() {
    local name=$1
    shift
    if ! "$@" > "outputs/log/$name.txt" 2>&1; then
        echo "released step $name failed: $*" >&2
        tail -n 30 "outputs/log/$name.txt" >&2
        exit 1
    fi
}
for side in gt infer; do
    if [[ $side == gt ]]; then dir=$GT; else dir=$INFER; fi
    step "main_$side" "$PY" "$SRC/main.py" \
        --log_dir outputs/log --output_dir "outputs/$side/npy" --finetune "$CKPT" \
        --model build_EVA --dataset mrsaudio --device cpu \
        --audio_path_root "$dir" \
        --nb_classes 355 --batch_size "${RELEASED_BATCH_SIZE:-32}" --num_workers "${RELEASED_NUM_WORKERS:-4}" \
        --audio_normalize --eval
done
step gen_ipd_ild_infer "$PY" "$SRC/evaluate/gen_ipd_ild.py" --audio-dir "$INFER" --output-dir outputs/infer/npy
step gen_ipd_ild_gt "$PY" "$SRC/evaluate/gen_ipd_ild.py" --audio-dir "$GT" --output-dir outputs/gt/npy
step evaluate "$PY" "$SRC/evaluate/evaluate.py"
grep -E "mae\(x100\)|Cosine Similarity" outputs/log/evaluate.txt
n_gt=$(find "$GT" -maxdepth 1 -name '*.wav' | wc -l)
for suffix in _dis.npy _azi.npy _feature.npy; do
    for side in gt infer; do
        n=$(find "outputs/$side/npy" -name "*$suffix" | wc -l)
        [[ $n == "$n_gt" ]] || { echo "released run wrote $n $side *$suffix files for $n_gt pairs" >&2; exit 1; }
    done
done

if [[ -n ${RELEASED_JSON:-} ]]; then
    "$PY" - "$SRC/evaluate" "$RELEASED_JSON" <<'EOF'
import glob, json, os, sys

import numpy as np

sys.path.insert(0, sys.argv[1])
import evaluate as released  # the release's evaluate/evaluate.py

pairs = {}
for infer_file in sorted(glob.glob("outputs/infer/npy/*_feature.npy")):
    name = os.path.basename(infer_file)[: -len("_feature.npy")]
    gt_ipd, gt_ild = released.read_IPD_ILD_from_npy(infer_file.replace("outputs/infer", "outputs/gt"))
    in_ipd, in_ild = released.read_IPD_ILD_from_npy(infer_file)
    row = {
        "ipd_mae": float(released.calculate_mae_time(gt_ipd, in_ipd)),
        "ild_mae": float(released.calculate_mae_time(gt_ild, in_ild)),
    }
    for key, suffix in (("dis_cos", "_dis.npy"), ("ang_cos", "_azi.npy")):
        gt = np.load(f"outputs/gt/npy/{name}{suffix}")
        infer = np.load(f"outputs/infer/npy/{name}{suffix}")
        row[key] = float(released.matrix_cosine_similarity(gt, infer))
    pairs[name] = row
summary = {
    key: float(np.mean([row[key] for row in pairs.values()])) for key in ("ipd_mae", "ild_mae", "ang_cos", "dis_cos")
}
with open(sys.argv[2], "w") as handle:
    json.dump({"pairs": pairs, "mean": summary}, handle, indent=1)
EOF
fi
