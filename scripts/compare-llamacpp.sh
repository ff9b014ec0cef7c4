#!/usr/bin/env bash
# Runs vkgraph and llama.cpp side by side on the same models, in one run, and prints the ratios.
#
#   bash scripts/compare-llamacpp.sh [--runs N] [--out FILE.md] [--skip-cold] [--no-native]
#
# The peer is llama.cpp from the npm package node-llama-cpp, in two builds measured side by side:
# the package's prebuilt CPU and Vulkan libraries (llama-bench and the simple example compiled
# from the source bundle the package carries, against those libraries: the released kernels), and
# the same source bundle built here with -DGGML_VULKAN=ON -DGGML_NATIVE=ON (scripts/peer/
# build-native.sh: once, 12 min on 2 cores here; --no-native skips it), the stronger peer.
# Models: stories260K (the bundled default) and synthetic models of SmolLM2-135M's and Llama
# 3.2 1B's shapes (`vkgraph synth`; speed does not depend on weight values, so the figures
# stand for the real models). Rounds alternate the engines so that the machine's noise hits
# both alike; the report gives medians. Everything is cached under ~/.cache/vkgraph/compare.
set -euo pipefail

runs=3
out=""
cold=1
native=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-native) native=0; shift ;;
    --runs) runs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --skip-cold) cold=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "compare-llamacpp: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

top=$(cd "$(dirname "$0")/.." && pwd)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/vkgraph/compare"
peer_version=3.22.1
peer="$cache/node-llama-cpp-$peer_version"
work="$cache/run"
mkdir -p "$cache" "$work"
say() { echo "compare: $*" >&2; }

# --- the peer -------------------------------------------------------------------------------------
if [ ! -d "$peer/node_modules/node-llama-cpp" ]; then
  command -v npm >/dev/null || { echo "compare-llamacpp: npm is needed to fetch node-llama-cpp" >&2; exit 1; }
  say "installing node-llama-cpp $peer_version (prebuilt llama.cpp libraries)"
  mkdir -p "$peer"
  npm install --prefix "$peer" --ignore-scripts --no-audit --no-fund "node-llama-cpp@$peer_version" >/dev/null
fi
bins_cpu="$peer/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
bins_vk="$peer/node_modules/@node-llama-cpp/linux-x64-vulkan/bins/linux-x64-vulkan"
src="$peer/llama.cpp"
if [ ! -d "$src/tools/llama-bench" ]; then
  say "unpacking the llama.cpp source bundle"
  git clone -q "$peer/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$src" 2>/dev/null
fi
ggml_lib() { ls "$1" | grep -E '^libggml\.(vulkan\.)?v[0-9.]+\.so$' | head -n 1; }
llama_lib() { ls "$1" | grep -E '^libllama\.(vulkan\.)?v[0-9.]+\.so$' | head -n 1; }
# ggml finds its backends (libggml-cpu-*.so, libggml-vulkan.so) next to the executable, so each
# peer program is built into its library folder.
build_peer() {  # $1: library folder, $2: output name, $3...: sources
  local dir="$1" name="$2"; shift 2
  [ -x "$dir/$name" ] && return 0
  say "compiling $name against $(basename "$dir")"
  g++ -std=c++17 -O2 -DNDEBUG -I "$src/common" -I "$src/include" -I "$src/ggml/include" \
      -I "$src/vendor" -I "$src/tools/llama-bench" "$@" -o "$dir/$name" -L "$dir" \
      -lllama-common -l:"$(llama_lib "$dir")" -l:"$(ggml_lib "$dir")" -lggml-base \
      -Wl,-rpath,"$dir" -lpthread
}
bench_sources=("$src/tools/llama-bench/llama-bench.cpp" "$src/tools/llama-bench/main.cpp")
build_peer "$bins_cpu" llama-bench "${bench_sources[@]}"
build_peer "$bins_vk" llama-bench "${bench_sources[@]}"
build_peer "$bins_vk" llama-simple "$src/examples/simple/simple.cpp"
bins_native=""
[ "$native" = 0 ] || bins_native=$(bash "$top/scripts/peer/build-native.sh" "$src")

# --- vkgraph --------------------------------------------------------------------------------------
build="$top/build-perf"
say "building vkgraph (Release) in $build"
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target vkgraph -j "$(nproc)" >/dev/null
vkgraph="$build/cli/vkgraph"

# --- models ---------------------------------------------------------------------------------------
models="$cache/models"
mkdir -p "$models"
# q4_k_m: llama.cpp's mix (Q4_K, Q6_K for the output and some attn_v / ffn_down, and the
# fallback types of the 576-wide rows that 256-element super-blocks do not divide).
for type in q4_0 q8_0 q4_k_m; do
  f="$models/smollm2-135m-$type.gguf"
  [ -f "$f" ] || "$vkgraph" synth --preset smollm2-135m --type "$type" -o "$f" >/dev/null
done
# Llama 3.2 1B's shapes with its RoPE frequency factors (rope_freqs.weight): the real vocabulary
# size, GQA 32/8 and the factors on every rotation.
llama32="$models/llama-3.2-1b-q4_0.gguf"
[ -f "$llama32" ] || "$vkgraph" synth --preset llama-3.2-1b --type q4_0 -o "$llama32" >/dev/null
stories="$top/models/bundled/stories260K.gguf"
model_list=("$models/smollm2-135m-q4_0.gguf" "$models/smollm2-135m-q8_0.gguf" "$models/smollm2-135m-q4_k_m.gguf"
            "$llama32" "$stories")

# --- rounds ---------------------------------------------------------------------------------------
results="$work/results.jsonl"
: > "$results"
record() {  # $1: engine, $2: model, $3: file with the tool's JSON output
  python3 - "$1" "$2" "$3" >> "$results" <<'EOF'
import json, sys
engine, model, path = sys.argv[1:]
text = open(path).read()
try:
    rows = json.loads(text)
except json.JSONDecodeError:
    rows = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
if isinstance(rows, dict):
    rows = rows.get("rows", [rows])
for row in rows:
    if "avg_ts" in row:  # llama-bench
        test = f"pp{row['n_prompt']}" if row["n_prompt"] > 0 else f"tg{row['n_gen']}"
        tps = row["avg_ts"]
    else:                # vkgraph bench
        test = row["test"]
        tps = row["ts_mean"]
    print(json.dumps({"engine": engine, "model": model, "test": test, "tps": tps}))
EOF
}
for round in $(seq 1 "$runs"); do
  for model in "${model_list[@]}"; do
    name=$(basename "$model" .gguf)
    say "round $round/$runs: $name"
    GGML_VK_VISIBLE_DEVICES=0 "$bins_vk/llama-bench" -m "$model" -p 128 -n 32 -r 1 -ngl 99 -o json \
      > "$work/peer-vk.json" 2>/dev/null
    record "llama.cpp Vulkan" "$name" "$work/peer-vk.json"
    "$bins_cpu/llama-bench" -m "$model" -p 128 -n 32 -r 1 -ngl 0 -o json > "$work/peer-cpu.json" 2>/dev/null
    record "llama.cpp CPU" "$name" "$work/peer-cpu.json"
    if [ -n "$bins_native" ]; then
      GGML_VK_VISIBLE_DEVICES=0 "$bins_native/llama-bench" -m "$model" -p 128 -n 32 -r 1 -ngl 99 -o json \
        > "$work/native-vk.json" 2>/dev/null
      record "llama.cpp Vulkan (native)" "$name" "$work/native-vk.json"
      # CPU only: no Vulkan device at all, so that no prompt batch is offloaded to one.
      "$bins_native/llama-bench" -m "$model" -p 128 -n 32 -r 1 -ngl 0 -dev none -o json \
        > "$work/native-cpu.json" 2>/dev/null
      record "llama.cpp CPU (native)" "$name" "$work/native-cpu.json"
    fi
    "$vkgraph" bench -m "$model" -p 128 -n 32 -r 1 -o json > "$work/vkgraph.json" 2>/dev/null
    record "vkgraph Vulkan" "$name" "$work/vkgraph.json"
  done
done

# --- cold start -----------------------------------------------------------------------------------
# Time to the first generated token with empty shader caches: Mesa's (MESA_SHADER_CACHE_DIR) and
# vkgraph's pipeline cache (VKGRAPH_CACHE_DIR); then the same with both caches warm.
cold_file="$work/cold.jsonl"
: > "$cold_file"
time_first_token() {  # $1: engine label, $2: cache state, then the command
  local label="$1" state="$2"; shift 2
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  python3 -c "import json,sys; print(json.dumps({'engine': sys.argv[1], 'state': sys.argv[2], 'seconds': float(sys.argv[4]) - float(sys.argv[3])}))" \
    "$label" "$state" "$t0" "$t1" >> "$cold_file"
}
if [ "$cold" = 1 ]; then
  for round in $(seq 1 "$runs"); do
    say "cold start, round $round/$runs"
    mesa=$(mktemp -d) ours=$(mktemp -d)
    time_first_token "vkgraph" cold env MESA_SHADER_CACHE_DIR="$mesa" VKGRAPH_CACHE_DIR="$ours" \
      "$vkgraph" run -m "$stories" -p "Once upon a time" -n 1 --temp 0
    time_first_token "vkgraph" warm env MESA_SHADER_CACHE_DIR="$mesa" VKGRAPH_CACHE_DIR="$ours" \
      "$vkgraph" run -m "$stories" -p "Once upon a time" -n 1 --temp 0
    rm -rf "$mesa" "$ours"
    mesa=$(mktemp -d)
    time_first_token "llama.cpp Vulkan" cold env MESA_SHADER_CACHE_DIR="$mesa" GGML_VK_VISIBLE_DEVICES=0 \
      "$bins_vk/llama-simple" -m "$stories" -n 1 -ngl 99 "Once upon a time"
    time_first_token "llama.cpp Vulkan" warm env MESA_SHADER_CACHE_DIR="$mesa" GGML_VK_VISIBLE_DEVICES=0 \
      "$bins_vk/llama-simple" -m "$stories" -n 1 -ngl 99 "Once upon a time"
    rm -rf "$mesa"
  done
fi

# --- report ---------------------------------------------------------------------------------------
report=$(python3 "$top/scripts/compare_report.py" "$results" "$cold_file" \
  --runs "$runs" --commit "$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  --devices-json "$("$vkgraph" devices --json 2>/dev/null || echo "[]")")
echo "$report"
if [ -n "$out" ]; then echo "$report" > "$out"; say "wrote $out"; fi
