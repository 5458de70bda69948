#!/bin/sh
# `cloze compare` trains every run of a sweep, probes it and writes the
# report; run again after an interruption it trains only the runs that did
# not finish. Usage: compare_resume.sh CLOZE
set -eu
cloze=$1
. "$(dirname "$0")/tiny_run.sh"
enter_scratch
tiny_run 2

cat > sweep.toml <<'TOML'
[sweep]
dir = "sweep-runs"
probe_train = 20
probe_eval = 10
[[runs]]
name = "mask"
config = "tiny.toml"
grid = { "corruption.rate" = [0.15, 0.3] }
TOML

"$cloze" compare sweep.toml > first.txt 2>&1 || { cat first.txt; exit 1; }
for run in mask-rate=0.15 mask-rate=0.3; do
  test -f "sweep-runs/$run/result.json"
  test -f "sweep-runs/$run/model.safetensors"
done
grep -q 'mask-rate=0.3' sweep-runs/report.md
grep -q '<svg' sweep-runs/report.html

# An interrupted sweep: the second run never finished.
rm sweep-runs/mask-rate=0.3/result.json
"$cloze" compare sweep.toml > second.txt 2>&1 || { cat second.txt; exit 1; }
grep -q '\[1/2\] mask-rate=0.15: finished before, not run again' second.txt
grep -q '\[2/2\] mask-rate=0.3: training into' second.txt
if grep -q 'mask-rate=0.15: training' second.txt; then
  echo "a finished run was trained again" >&2
  exit 1
fi
test -f sweep-runs/mask-rate=0.3/result.json
echo "compare resume: ok"
