#!/bin/sh
# Faults a long run meets, and what the user sees: a loss that is not finite
# stops the run naming the step (or, with train.skip_nonfinite = N, skips up
# to N updates in a row), and a run folder that cannot be written to fails
# with the file named, nothing already written changed, and a run resumed
# under another configuration is refused. Usage: faults.sh CLOZE
set -eu
cloze=$1
. "$(dirname "$0")/tiny_run.sh"
enter_scratch
tiny_run 40

# lr = 1e30: the first update throws every weight to about 1e30, and the
# next forward pass overflows.
status=0
"$cloze" train tiny.toml run.dir=nan train.lr=1e30 > nan.log 2>&1 || status=$?
test "$status" -ne 0
grep -q "step 2: the loss or the gradient is not finite; stopped before updating" nan.log
test "$(cat nan/latest)" = "checkpoint-1.pt"  # the last good state is kept
"$cloze" train tiny.toml run.dir=nan train.lr=1e30 --stop-at 0 >> nan.log 2>&1  # and loads

status=0
"$cloze" train tiny.toml run.dir=skip train.lr=1e30 train.skip_nonfinite=3 > skip.log 2>&1 || status=$?
test "$status" -ne 0
test "$(grep -c 'update skipped' skip.log)" -eq 3
grep -q "step 5: the loss or the gradient is not finite; 4 in a row, more than train.skip_nonfinite = 3" skip.log
grep -q '"loss":null,.*"skipped_nonfinite":3,"split":"train","step":4,' skip/metrics.jsonl

# A run folder that cannot be written to: resuming fails before changing anything.
"$cloze" train tiny.toml run.dir=locked --stop-at 5 > locked.log 2>&1
cp -r locked before
chmod -R a-w locked
chmod 755 "$tmp"
unprivileged=""
# root writes anywhere: drop to nobody so that permissions apply.
if [ "$(id -u)" -eq 0 ]; then unprivileged="setpriv --reuid=65534 --regid=65534 --clear-groups"; fi
status=0
$unprivileged "$cloze" train tiny.toml run.dir=locked > locked.log 2>&1 || status=$?
test "$status" -ne 0
grep -q "cannot write locked/config.toml" locked.log
diff -r before locked
# Resuming under another configuration would mix two runs in one folder:
# refused, naming the key, with the folder as it was.
"$cloze" train tiny.toml run.dir=changed --stop-at 5 > changed.log 2>&1
cp -r changed changed-before
status=0
"$cloze" train tiny.toml run.dir=changed train.lr=0.01 >> changed.log 2>&1 || status=$?
test "$status" -ne 0
grep -q 'changed/config.toml records another configuration than the one given now: \[train\] `lr = [^`]*` recorded, `lr = 0.01` now' changed.log
diff -r changed-before changed
# It may be extended, on another number of threads.
"$cloze" train tiny.toml run.dir=changed run.threads=2 train.steps=50 >> changed.log 2>&1
grep -q '"step":50' changed/metrics.jsonl
grep -q 'steps = 50' changed/config.toml

echo "faults: non-finite stop and skip, read-only run folder, resuming under another configuration: as expected"
