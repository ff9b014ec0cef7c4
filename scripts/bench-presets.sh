#!/usr/bin/env bash
# Bench rows of every model-family preset (`vkgraph synth --preset`), on Vulkan and the CPU
# backend side by side in one run: synthetic weights of the real shapes (speed does not depend
# on weight values), one quantization scheme. Writes a markdown table to stdout.
#
#   bash scripts/bench-presets.sh [BUILD_DIR] [TYPE] [PRESETS...]
#
# Defaults: build, q4_0, and the presets of the families added beside llama (Qwen2.5, Qwen3,
# Llama 3.2, Phi-3.5, Gemma 2, Gemma 3). Models are written once under
# ~/.cache/vkgraph/presets and reused. pp32 and tg8, one repetition: these are large models on
# a CPU driver; the table is for "it runs, at about this speed", not for fine comparisons.
set -euo pipefail
build=${1:-build}
type=${2:-q4_0}
shift $(($# > 2 ? 2 : $#))
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(qwen2.5-0.5b qwen3-0.6b llama-3.2-1b gemma-3-1b gemma-2-2b phi-3.5-mini)
vkgraph="$build/cli/vkgraph"
[ -x "$vkgraph" ] || { echo "bench-presets: $vkgraph not built" >&2; exit 1; }
models="${HOME}/.cache/vkgraph/presets"
mkdir -p "$models"

header_done=0
for preset in "${presets[@]}"; do
  file="$models/$preset-$type.gguf"
  if [ ! -f "$file" ]; then
    echo "bench-presets: writing $file" >&2
    "$vkgraph" synth --preset "$preset" --type "$type" -o "$file.tmp" >/dev/null
    mv "$file.tmp" "$file"
  fi
  echo "bench-presets: $preset" >&2
  out=$("$vkgraph" bench -m "$file" --backend vulkan,cpu -p 32 -n 8 -r 1 -o md 2>/dev/null)
  # The first table of the output is the speed table: its header once, then its rows.
  table=$(printf '%s\n' "$out" | awk '/^\| model \|/{n++} n==1 && /^\|/{print} n==1 && !/^\|/{exit}')
  if [ $header_done -eq 0 ]; then
    printf '%s\n' "$table" | head -2
    header_done=1
  fi
  printf '%s\n' "$table" | tail -n +3
done
