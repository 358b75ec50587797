#!/bin/bash
# A swarm campaign as a Slurm array job (docs/fuzz-cluster.md): one array task per shard; a merge
# job runs when every task has ended.
#
#   sbatch docs/fuzz-slurm.sh                       # from the repository, after npm ci
#   SEEDS=1..2000 DEFECT=virq-wrong-vm sbatch docs/fuzz-slurm.sh
#
#SBATCH --job-name=hvsim-swarm
#SBATCH --array=1-16
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --time=12:00:00
#SBATCH --output=results/slurm-%A_%a.log
set -euo pipefail

SEEDS=${SEEDS:-1..100000}
RESULTS=${RESULTS:-results}
mkdir -p "$RESULTS"

if [ "${1:-}" = "--merge" ]; then
  exec node bin/hvsim.mjs fuzz merge "$RESULTS"/shard-*.json
fi

shard=$SLURM_ARRAY_TASK_ID
count=$SLURM_ARRAY_TASK_COUNT
out="$RESULTS/shard-$shard-of-$count.json"
code=0
node bin/hvsim.mjs fuzz --swarm --seeds "$SEEDS" --shard "$shard/$count" ${DEFECT:+--defect "$DEFECT"} \
  --json --keep "$RESULTS/failures" > "$out.partial" || code=$?
# 0: all passed, 1: a seed failed, 70: the model crashed on a seed: each is a result to merge.
case $code in 0|1|70) mv "$out.partial" "$out" ;; *) exit "$code" ;; esac

# The last task to start queues the merge after the whole array (afterany: merge even if a task failed,
# so a missing shard is named by `fuzz merge` instead of the merge silently never running).
if [ "$shard" = "$SLURM_ARRAY_TASK_MAX" ]; then
  sbatch --dependency="afterany:$SLURM_ARRAY_JOB_ID" --job-name=hvsim-merge --output="$RESULTS/merge.log" \
    --wrap="RESULTS=$RESULTS bash docs/fuzz-slurm.sh --merge"
fi
