#!/bin/sh
# `cloze config` prints the resolved config as TOML that parses back to the
# same config; overrides land in it; a bad override is refused with a
# did-you-mean. Usage: config_round_trip.sh CLOZE CONFIG
set -eu
cloze=$1
config=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$cloze" config "$config" > "$tmp/resolved.toml"
"$cloze" config "$tmp/resolved.toml" > "$tmp/again.toml"
cmp "$tmp/resolved.toml" "$tmp/again.toml"

"$cloze" config "$config" train.steps=7 > "$tmp/override.toml"
grep -qx 'steps = 7' "$tmp/override.toml"

if "$cloze" config "$config" train.stepz=7 2> "$tmp/error.txt"; then
  echo "an unknown override key was accepted" >&2
  exit 1
fi
grep -q "did you mean 'train.steps'" "$tmp/error.txt"
echo "config round trip: ok"
