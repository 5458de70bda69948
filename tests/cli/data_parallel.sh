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

run_folders nproc torchrun signal

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

terminate_after_step_3 signal --nproc 2
test ! -e signal/run/model.safetensors
test "$stopped" -lt 60
(cd signal && "$cloze" train tiny.toml run.dir=run --nproc 2 >> log 2>&1)
losses signal/run | cmp - nproc.losses
cmp signal/run/model.safetensors nproc/run/model.safetensors
echo "data_parallel: torchrun, --nproc and a signalled, resumed run agree bit for bit (stopped at $stopped)"
