#!/bin/sh
# The objectives with a second network resume exactly: ELECTRA (the
# generator's samples come from the step's seeded generator) and data2vec
# (the EMA teacher is in the checkpoint), each trained straight and in two
# halves, give the same per-step losses and the same final weights, teacher
# and generator included, bit for bit. Usage: resume_objectives.sh CLOZE
set -eu
cloze=$1
. "$(dirname "$0")/tiny_run.sh"
enter_scratch
tiny_run 30

for objective in "model.generator=0.5" "model.target=latent"; do
  rm -rf straight halves
  run_folders straight halves
  (cd straight && "$cloze" train tiny.toml run.dir=run "$objective" > log 2>&1)
  (cd halves && "$cloze" train tiny.toml run.dir=run "$objective" --stop-at 15 > log 2>&1)
  (cd halves && "$cloze" train tiny.toml run.dir=run "$objective" >> log 2>&1)
  losses straight/run > straight.losses
  test "$(wc -l < straight.losses)" -eq 34  # 30 train lines, eval at 0, 10, 20, 30
  losses halves/run | cmp - straight.losses
  cmp halves/run/model.safetensors straight/run/model.safetensors
  # The exported weights hold the second network with the model.
  case $objective in
    *generator*) grep -aq '"generator.blocks.0.fc1.weight"' straight/run/model.safetensors ;;
    *latent*) grep -aq '"teacher.blocks.0.fc1.weight"' straight/run/model.safetensors ;;
  esac
done
echo "resume_objectives: ELECTRA and data2vec runs resumed in halves agree bit for bit"
