#!/bin/sh
# Writing a plugin outside cloze's tree: install cloze into a temporary prefix,
# scaffold a corruption and a modality with the installed tool, build each
# against the installed package (find_package(cloze)), run their own tests,
# load them through CLOZE_PLUGIN_PATH and train 20 steps: the corruption on
# text and on images, the modality under token_mask.
# Usage: plugin_out_of_tree.sh BUILD_DIR
set -eu
build=$(cd "$1" && pwd)
. "$(dirname "$0")/tiny_run.sh"
enter_scratch

cmake --install "$build" --prefix prefix > install.log
cloze=$PWD/prefix/bin/cloze
# The installed tool loads the installed plugins, not the build tree's.
"$cloze" plugins --describe token_mask | grep -q "from $PWD/prefix/lib/cloze/plugins/libcloze_token_mask.so"

generator=""
command -v ninja > /dev/null && generator="-G Ninja"
# Builds the scaffold in folder $1 against the installed package and runs its tests.
build_plugin() {
  # shellcheck disable=SC2086
  cmake -S "$1" -B "$1/build" $generator -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PWD/prefix" > "$1.log"
  cmake --build "$1/build" >> "$1.log"
  ctest --test-dir "$1/build" --output-on-failure >> "$1.log"
}

# Trains config $2 of folder $1 for 20 steps, with $1's plugin on CLOZE_PLUGIN_PATH.
train_20_steps() {
  (cd "$1" && CLOZE_PLUGIN_PATH=build/plugins "$cloze" train "$2" train.steps=20 eval.every=20 > "$2.log" 2>&1)
  grep -q "^trained 20 steps" "$1/$2.log"
}

"$cloze" new-plugin corruption window_shuffle --dir shuffle > /dev/null
build_plugin shuffle
(cd shuffle && CLOZE_PLUGIN_PATH=build/plugins "$cloze" plugins --describe window_shuffle) > describe.txt
grep -q "from $PWD/shuffle/build/plugins/libwindow_shuffle.so" describe.txt
grep -q '| `window` | integer | `4` |' describe.txt
train_20_steps shuffle text.toml
train_20_steps shuffle image.toml
# Without CLOZE_PLUGIN_PATH the config names a plugin cloze does not know.
! (cd shuffle && "$cloze" train text.toml train.steps=1 > unknown.log 2>&1)
grep -q "unknown corruption 'window_shuffle'" shuffle/unknown.log

"$cloze" new-plugin modality counting --dir counting > /dev/null
build_plugin counting
train_20_steps counting counting.toml
echo "plugin_out_of_tree: installed, scaffolded, built, tested and trained a corruption and a modality"
