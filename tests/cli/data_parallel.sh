#!/bin/sh
# Data-parallel launches: torchrun --no_python runs cloze as `--nproc 2` does
# (the same losses and weights, bit for bit), and SIGTERM to the --nproc
# launcher stops both ranks at the same step with a checkpoint, from which
# two ranks resume exactly. Usage: data_parallel.sh CLOZE
set -eu
cloze=$1
. "$(dirname "$0")/tiny_run.sh"
enter_scratch
tiny_run 60

# Each run in its own folder under the same name, so the exported
# model.safetensors (which records the config) can match byte for byte.
for name in nproc torchrun signal; do mkdir "$name"; cp -r corpus tiny.toml "$name/"; done

(cd nproc && "$cloze" train tiny.toml run.dir=run --nproc 2 > log 2>&1)
losses nproc/run > nproc.losses
test "$(grep -c ' train ' nproc.losses)" -eq 60
test "$(grep -c 'cloze:' nproc/log)" -eq 1  # rank 0 alone reports

# --redirects 1 --tee 1: Debian 12's torchrun (PyTorch 1.13 on Python 3.11)
# cannot parse the default "0" of either.
(cd torchrun && torchrun --standalone --nproc_per_node 2 --redirects 1 --tee 1 --no_python \
  "$cloze" train tiny.toml run.dir=run > log 2>&1)
losses torchrun/run | cmp - nproc.losses
cmp torchrun/run/model.safetensors nproc/run/model.safetensors

(cd signal && exec "$cloze" train tiny.toml run.dir=run --nproc 2 > log 2>&1) &
pid=$!
wait_for_step signal/run 3
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
test "$status" -eq 143
test ! -e signal/run/model.safetensors
stopped=$(sed 's/checkpoint-\([0-9]*\)\.pt/\1/' signal/run/latest)
test "$stopped" -ge 3
test "$stopped" -lt 60
(cd signal && "$cloze" train tiny.toml run.dir=run --nproc 2 >> log 2>&1)
losses signal/run | cmp - nproc.losses
cmp signal/run/model.safetensors nproc/run/model.safetensors
echo "data_parallel: torchrun, --nproc and a signalled, resumed run agree bit for bit (stopped at $stopped)"
