#!/bin/sh
# data2vec is one objective for every modality: each shipped
# configs/<modality>/data2vec.toml, shrunk to a small model and 40 steps,
# trains on the data tools/setup provides with its held-out latent loss
# falling by a fifth or more, and previews without a made-up
# reconstruction. Usage: data2vec_modalities.sh CLOZE REPOSITORY
set -eu
cloze=$1
cd "$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for modality in text image audio; do
  "$cloze" train "configs/$modality/data2vec.toml" "run.dir=$tmp/$modality" "run.cache_dir=$tmp/cache" \
    model.dim=64 model.layers=2 train.steps=40 train.batch_size=32 train.warmup_steps=10 train.log_every=10 \
    eval.every=40 eval.batches=2 > "$tmp/$modality.log" 2>&1 || { cat "$tmp/$modality.log" >&2; exit 1; }
  first=$(grep '"split":"eval"' "$tmp/$modality/metrics.jsonl" | head -n 1 | sed 's/.*"loss":\([^,}]*\).*/\1/')
  last=$(grep '"split":"eval"' "$tmp/$modality/metrics.jsonl" | tail -n 1 | sed 's/.*"loss":\([^,}]*\).*/\1/')
  echo "$modality: held-out latent loss $first -> $last"
  awk -v first="$first" -v last="$last" 'BEGIN { exit !(last < 0.8 * first) }'
  # The model predicts its teacher's features, not units: the preview shows
  # the corruption and says so, and makes up no reconstruction.
  "$cloze" preview "configs/$modality/data2vec.toml" --samples 2 "run.dir=$tmp/$modality" "run.cache_dir=$tmp/cache" \
    model.dim=64 model.layers=2 > "$tmp/$modality.preview" 2>&1 || { cat "$tmp/$modality.preview" >&2; exit 1; }
  grep -q '^the model predicts its teacher.s features' "$tmp/$modality.preview"
  grep -q '^  truth: ' "$tmp/$modality.preview" || grep -q '^  picture: ' "$tmp/$modality.preview"
  if grep -q '^  model: ' "$tmp/$modality.preview"; then cat "$tmp/$modality.preview" >&2; exit 1; fi
done
