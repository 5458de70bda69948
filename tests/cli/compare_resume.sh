#!/bin/sh
# `cloze compare` end to end: a sweep of 2 seeds evaluated by all three
# protocols (linear probe, kNN, fine-tuning) writes each seed's result and a
# report with intervals and a score-against-FLOPs plot; run again after an
# interruption it trains only the seeds that did not finish, and raising
# `seeds` trains only the new ones; --reevaluate re-scores finished seeds
# without training. `cloze probe` evaluates a finished run.
# Usage: compare_resume.sh CLOZE
set -eu
cloze=$1
. "$(dirname "$0")/tiny_run.sh"
enter_scratch
tiny_run 2

write_sweep() {
  cat > sweep.toml <<TOML
[sweep]
dir = "sweep-runs"
probe_train = 40
probe_eval = 20
protocols = ["linear", "knn", "finetune"]
seeds = $1
finetune_steps = 12
finetune_lrs = [1e-3, 3e-3]
[[runs]]
name = "mask"
config = "tiny.toml"
grid = { "corruption.rate" = [0.15, 0.3] }
TOML
}
write_sweep 2

"$cloze" compare sweep.toml > first.txt 2>&1 || { cat first.txt; exit 1; }
for run in mask-rate=0.15 mask-rate=0.3; do
  for seed in 1 2; do
    test -f "sweep-runs/$run/seed-$seed/result.json"
    test -f "sweep-runs/$run/seed-$seed/model.safetensors"
    grep -q "seed = $seed" "sweep-runs/$run/seed-$seed/config.toml"
    for protocol in linear knn finetune; do grep -q "\"$protocol\"" "sweep-runs/$run/seed-$seed/result.json"; done
  done
done
grep -q '"flops"' sweep-runs/mask-rate=0.3/seed-1/metrics.jsonl
# Fine-tuning records the learning rate its validation share chose, one of the two candidates.
grep -Eq '"lr": ?(0\.001|0\.003)' sweep-runs/mask-rate=0.3/seed-1/result.json
grep -q 'mask-rate=0.3' sweep-runs/report.md
grep -q '### fine-tuning accuracy, mean ± std over seeds \[95% interval\]' sweep-runs/report.md
grep -q 'paired t over 2 seeds' sweep-runs/report.md
grep -q 'class="error-bar"' sweep-runs/report.html
test "$(grep -c '<svg' sweep-runs/report.html)" -eq 3  # one plot per protocol of the one modality

# An interrupted sweep: one seed of the second run never finished.
rm sweep-runs/mask-rate=0.3/seed-2/result.json
"$cloze" compare sweep.toml > second.txt 2>&1 || { cat second.txt; exit 1; }
grep -q '\[1/4\] mask-rate=0.15 seed 1: finished before, not run again' second.txt
grep -q '\[4/4\] mask-rate=0.3 seed 2: training into' second.txt
test "$(grep -c 'training into' second.txt)" -eq 1
test -f sweep-runs/mask-rate=0.3/seed-2/result.json

# A third seed: only it trains, for both runs.
write_sweep 3
"$cloze" compare sweep.toml > third.txt 2>&1 || { cat third.txt; exit 1; }
test "$(grep -c 'training into' third.txt)" -eq 2
grep -q 'mask-rate=0.15 seed 3: training into' third.txt
grep -q 't over 3 seeds\|paired t over 3 seeds' sweep-runs/report.md

# Another fine-tuning budget re-scores the finished seeds without training
# them again; what their training measured stays.
wall_before=$(grep -o '"wall_seconds": [0-9.e+-]*' sweep-runs/mask-rate=0.3/seed-1/result.json)
sed 's/^finetune_lrs = .*/finetune_lrs = [2e-3]/' sweep.toml > rescored.toml
"$cloze" compare rescored.toml --reevaluate > rescored.txt 2>&1 || { cat rescored.txt; exit 1; }
test "$(grep -c 'finished before, evaluated again' rescored.txt)" -eq 6
test "$(grep -c 'training into' rescored.txt)" -eq 0
grep -Eq '"lr": ?0\.002' sweep-runs/mask-rate=0.3/seed-1/result.json
test "$(grep -o '"wall_seconds": [0-9.e+-]*' sweep-runs/mask-rate=0.3/seed-1/result.json)" = "$wall_before"

# A finished seed is reused only under the configuration it trained with:
# another one is refused, naming the seed's config.toml and the key, and
# nothing in the sweep's folder changes.
before=$(find sweep-runs -type f -newer rescored.txt | wc -l)
report_before=$(cksum < sweep-runs/report.md)
if "$cloze" compare sweep.toml train.lr=0.5 > stale.txt 2>&1; then
  echo "a sweep reused seeds trained under another learning rate" >&2
  exit 1
fi
grep -q 'sweep-runs/mask-rate=0.15/seed-1/config.toml records another configuration than the one given now: \[train\] `lr = 5e-04` recorded, `lr = 0.5` now' stale.txt ||
  { cat stale.txt; exit 1; }
test "$(find sweep-runs -type f -newer rescored.txt | wc -l)" -eq "$before"
test "$(cksum < sweep-runs/report.md)" = "$report_before"

# A finished run evaluated outside the sweep, with a bootstrap interval.
"$cloze" probe sweep-runs/mask-rate=0.15/seed-1 --protocol knn --train 40 --eval 20 > probe.txt 2>&1 ||
  { cat probe.txt; exit 1; }
grep -q 'kNN (k = 20) accuracy' probe.txt
if grep -q 'linear probe accuracy' probe.txt; then
  echo "cloze probe --protocol knn ran the linear probe too" >&2
  exit 1
fi
echo "compare resume: ok"
