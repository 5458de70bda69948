# Sourced by the CLI tests that train. Usage:
#   . "$(dirname "$0")/tiny_run.sh"; enter_scratch; tiny_run STEPS

# Moves into a fresh temporary folder, removed on exit (made writable first:
# a test may lock parts of it).
enter_scratch() {
  tmp=$(mktemp -d)
  trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
  cd "$tmp"
}

# Writes a tiny labelled text corpus (two files, so two classes for a probe)
# and tiny.toml (a 2-layer model with dropout, one metrics line per step)
# into the current folder.
tiny_run() {
  mkdir -p corpus
  : > corpus/cats
  : > corpus/dogs
  i=1
  while [ "$i" -le 40 ]; do
    printf 'the cat sat on the mat %s and looked around\n%%\n' "$i" >> corpus/cats
    printf 'a dog ran in the park %s chasing a ball\n%%\n' "$i" >> corpus/dogs
    i=$((i + 1))
  done
  cat > tiny.toml <<TOML
[run]
threads = 1
cache_dir = "cache"
[modality]
name = "text"
corpus = ["corpus"]
tokenizer = "byte"
sentinels = 0
separator = "%"
seq_len = 32
eval_fraction = 0.25
[corruption]
name = "token_mask"
[model]
dim = 32
layers = 2
heads = 2
dropout = 0.1
[train]
steps = $1
batch_size = 8
warmup_steps = 4
log_every = 1
[eval]
every = 10
batches = 1
TOML
}

# A folder per name with the corpus and tiny.toml, for runs that are compared:
# each trains in its own folder under the same run name, so the exported
# model.safetensors (which records the config) can match byte for byte.
run_folders() {
  for name in "$@"; do
    mkdir "$name"
    cp -r corpus tiny.toml "$name/"
  done
}

# Trains tiny.toml in folder $1 (more train arguments after it), sends SIGTERM
# once it has logged train step 3, checks that it exits with 143, and sets
# `stopped` to the step of the checkpoint it saved.
terminate_after_step_3() {
  folder=$1
  shift
  (cd "$folder" && exec "$cloze" train tiny.toml run.dir=run "$@" > log 2>&1) &
  pid=$!
  wait_for_step "$folder/run" 3
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  test "$status" -eq 143
  stopped=$(sed 's/checkpoint-\([0-9]*\)\.pt/\1/' "$folder/run/latest")
  test "$stopped" -ge 3
}

# "step split loss" per metrics line of a run folder: the numbers as written,
# so two runs compare bit for bit.
losses() {
  sed -n 's/.*"loss":\([^,}]*\).*"split":"\([a-z]*\)","step":\([0-9]*\).*/\3 \2 \1/p' "$1/metrics.jsonl"
}

# Waits until the run folder $1 has logged train step $2; fails after 60 s.
wait_for_step() {
  tries=0
  until grep -q "\"split\":\"train\",\"step\":$2," "$1/metrics.jsonl" 2>/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -gt 6000 ]; then
      echo "no train step $2 in $1/metrics.jsonl after 60 s" >&2
      return 1
    fi
    sleep 0.01
  done
}
