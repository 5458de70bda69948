#!/bin/sh
# SIGKILL at random moments, saves included (a checkpoint after every step),
# 20 times over: every restart resumes from a checkpoint that loads, and the
# run, finished at last, logs the very losses of a run never killed.
# Usage: kill_resume.sh CLOZE
set -eu
cloze=$1
. "$(dirname "$0")/tiny_run.sh"
enter_scratch
tiny_run 1000
run_folders straight killed
(cd straight && "$cloze" train tiny.toml run.dir=run train.checkpoint_every=1 > log 2>&1)

# Kill delays from a fixed seed, 0.2 to 0.8 s. Every other kill counts from
# the restart and may land in the start-up; the others count from the first
# step past the newest checkpoint, so they land in steps and saves however
# slowly a loaded machine starts the process.
delays=$(awk 'BEGIN { srand(7); for (i = 0; i < 20; i++) printf "%.3f\n", 0.2 + rand() * 0.6 }')
kills=0
for delay in $delays; do
  saved=0
  [ -e killed/run/latest ] && saved=$(sed 's/checkpoint-\([0-9]*\)\.pt/\1/' killed/run/latest)
  (cd killed && exec "$cloze" train tiny.toml run.dir=run train.checkpoint_every=1 >> log 2>&1) &
  pid=$!
  if [ $((kills % 2)) -eq 1 ]; then wait_for_step killed/run $((saved + 1)); fi
  sleep "$delay"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" || true
  kills=$((kills + 1))
  if [ -e killed/run/latest ]; then
    # The checkpoint `latest` names exists and loads: --stop-at 0 resumes
    # from it and stops at once.
    test -f "killed/run/$(cat killed/run/latest)"
    (cd killed && "$cloze" train tiny.toml run.dir=run --stop-at 0 >> log 2>&1)
  fi
done
test "$kills" -eq 20
test -e killed/run/latest  # some kills came after saves
progress=$(cat killed/run/latest)
(cd killed && "$cloze" train tiny.toml run.dir=run train.checkpoint_every=1 >> log 2>&1)
losses straight/run > straight.losses
losses killed/run | cmp - straight.losses
cmp killed/run/model.safetensors straight/run/model.safetensors
test -z "$(find killed/run -name '*.partial')"
echo "kill_resume: $kills kills (up to $progress), every checkpoint loaded, losses equal to the uninterrupted run's"
