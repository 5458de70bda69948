#!/bin/sh
# A resumed run is the run that would have happened: trained straight, trained
# in two halves (--stop-at, then the same command again), and stopped by
# SIGTERM and resumed, the per-step losses and the final weights are the same
# bits. A second signal ends the process at once without harming the latest
# checkpoint. Usage: resume_exact.sh CLOZE
set -eu
cloze=$1
. "$(dirname "$0")/tiny_run.sh"
enter_scratch
tiny_run 40

run_folders straight halves signal

(cd straight && "$cloze" train tiny.toml run.dir=run > log 2>&1)

(cd halves && "$cloze" train tiny.toml run.dir=run --stop-at 20 > log 2>&1)
test "$(cat halves/run/latest)" = "checkpoint-20.pt"
test ! -e halves/run/model.safetensors  # not finished: no weights exported yet
test "$(losses halves/run | tail -n 1)" = "$(losses straight/run | grep '^20 eval')"
(cd halves && "$cloze" train tiny.toml run.dir=run >> log 2>&1)

# SIGTERM once it has started stepping: it finishes the step, saves and exits 143.
terminate_after_step_3 signal
grep -q "stopped by signal 15" signal/log
(cd signal && "$cloze" train tiny.toml run.dir=run >> log 2>&1)

losses straight/run > straight.losses
test "$(wc -l < straight.losses)" -eq 45  # 40 train lines, eval at 0, 10, 20, 30, 40
for name in halves signal; do
  losses "$name/run" | cmp - straight.losses
  cmp "$name/run/model.safetensors" straight/run/model.safetensors
done

# Two signals: the second ends it at once; the newest checkpoint still loads
# and the run still completes.
run_folders twice
(cd twice && exec "$cloze" train tiny.toml run.dir=run train.checkpoint_every=1 > log 2>&1) &
pid=$!
wait_for_step twice/run 5
kill -INT "$pid"
kill -INT "$pid"
wait "$pid" || true
(cd twice && "$cloze" train tiny.toml run.dir=run train.checkpoint_every=1 >> log 2>&1)
losses twice/run | cmp - straight.losses
echo "resume_exact: straight, halves and signalled runs agree bit for bit"
