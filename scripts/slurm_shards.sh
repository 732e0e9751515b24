#!/usr/bin/env bash
# Evaluate one shard per SLURM array task, then merge (run the merge once all tasks finished).
#
#   sbatch --array=1-8 scripts/slurm_shards.sh data/gt data/infer results        # shards
#   MERGE=1 N_SHARDS=8 bash scripts/slurm_shards.sh data/gt data/infer results   # afterwards
#
# Outside SLURM set SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT yourself (the tests do).
#SBATCH --job-name=spatialeval
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
set -euo pipefail
GT=$1 INFER=$2 OUT=$3
shift 3
SPATIALEVAL=${SPATIALEVAL:-spatialeval}
N=${N_SHARDS:-${SLURM_ARRAY_TASK_COUNT:?set N_SHARDS or run as a SLURM array}}
if [[ "${MERGE:-0}" == 1 ]]; then
  shards=()
  for k in $(seq 1 "$N"); do shards+=("$OUT/shards/$k-of-$N"); done
  exec "$SPATIALEVAL" merge "${shards[@]}" --out "$OUT"
fi
K=${SLURM_ARRAY_TASK_ID:?not a SLURM array task}
# A rerun of a failed task resumes from its own items.jsonl.
"$SPATIALEVAL" run "$GT" "$INFER" --shard "$K/$N" --out "$OUT/shards/$K-of-$N" --quiet "$@" || [[ $? == 3 ]]
