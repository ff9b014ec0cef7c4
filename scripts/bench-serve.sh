#!/usr/bin/env bash
# Serving throughput, vkgraph serve against llama.cpp's llama-server, on the same device in one
# run, with the same client load (scripts/bench_serve_client.cjs, the official OpenAI client):
# aggregate generation tokens/s and time to first token at 1, 8 and 32 concurrent streams, for
# each of vkgraph's serving engines (--engines: the batched one, the default of `vkgraph serve`,
# and the session engine that steps one sequence at a time).
#
#   bash scripts/bench-serve.sh [--vkgraph PATH] [--model FILE] [--streams 1,8,32] [--requests N]
#        [--prompt N] [--tokens N] [--engines batched,session] [--peer-parallel N] [--rounds N]
#        [--out FILE.md] [--no-peer] [--peer-server PATH]
#
# Each stream sends --requests completions one after another (prompts of --prompt token ids,
# --tokens generated, greedy, ignore_eos); a round runs every stream count on vkgraph, then on
# llama-server, so machine noise hits both alike; the report gives per-round figures and the
# medians; "x one stream" is each engine's aggregate t/s over its own one-stream figure of the
# same run. Device: lavapipe (or VKGRAPH_DEVICE / GGML_VK_VISIBLE_DEVICES for both).
#
# The peer: llama-server built from the llama.cpp source bundle of node-llama-cpp (the one
# compare-llamacpp.sh unpacks, or LLAMA_CPP_SOURCE) natively with -DGGML_VULKAN=ON
# -DGGML_NATIVE=ON by scripts/peer/build-native.sh (once: ggml-vulkan compiles hundreds of
# shaders; it needs Debian's glslc, which scripts/setup.sh installs). It runs with
# --parallel --peer-parallel (8: its continuous batching over 8 slots) and a unified KV cache of
# 8 x 512 positions. --peer-server PATH runs that llama-server instead (for instance one built
# from the same bundle against the package's prebuilt libraries, as compare-llamacpp.sh builds
# llama-bench: scripts/build-peer-server.sh).
# Model: smollm2-135m's shapes with Q4_0 weights (`vkgraph synth`; speed does not depend on the
# weights' values).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
vkgraph="$top/build/cli/vkgraph"
model=""
streams="1,8,32"
requests=2
prompt=64
tokens=128
peer_parallel=8
rounds=1
out=""
peer=1
engines="batched,session"
server_bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --vkgraph) vkgraph="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --streams) streams="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    --prompt) prompt="$2"; shift 2 ;;
    --tokens) tokens="$2"; shift 2 ;;
    --peer-parallel) peer_parallel="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --engines) engines="$2"; shift 2 ;;
    --no-peer) peer=0; shift ;;
    --peer-server) server_bin="$2"; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "bench-serve: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
say() { echo "bench-serve: $*" >&2; }
[ -x "$vkgraph" ] || { echo "bench-serve: no vkgraph at $vkgraph (build it, or pass --vkgraph)" >&2; exit 1; }
node_modules="$top/.deps/node_modules"
[ -d "$node_modules/openai" ] || { echo "bench-serve: the openai package is missing: run scripts/setup.sh" >&2; exit 1; }
cache="${XDG_CACHE_HOME:-$HOME/.cache}/vkgraph/peer-server"
mkdir -p "$cache"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# --- the model ------------------------------------------------------------------------------------
if [ -z "$model" ]; then
  model="$cache/smollm2-135m-q4_0.gguf"
  [ -f "$model" ] || "$vkgraph" synth --preset smollm2-135m --type q4_0 -o "$model" >/dev/null
fi
vocab=49152  # smollm2's; prompts use ids below it

# --- the peer -------------------------------------------------------------------------------------
src="${LLAMA_CPP_SOURCE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkgraph/compare/node-llama-cpp-3.22.1/llama.cpp}"
if [ -n "$server_bin" ] && [ ! -x "$server_bin" ]; then
  echo "bench-serve: --peer-server $server_bin is not an executable" >&2
  exit 1
fi
if [ "$peer" = 1 ] && [ -z "$server_bin" ]; then
  [ -d "$src" ] || { echo "bench-serve: no llama.cpp source at $src (run scripts/compare-llamacpp.sh once, or set LLAMA_CPP_SOURCE)" >&2; exit 1; }
  server_bin="$(bash "$top/scripts/peer/build-native.sh" "$src")/llama-server"
fi

# --- servers --------------------------------------------------------------------------------------
port_of() {  # $1: log file, $2: pattern with one group (the port)
  for _ in $(seq 1 600); do
    local p
    p=$(grep -oE "$2" "$1" 2>/dev/null | head -n 1 | grep -oE '[0-9]+$' || true)
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.5
  done
  echo "bench-serve: the server did not start; its log:" >&2
  cat "$1" >&2
  return 1
}
wait_health() {  # $1: url
  for _ in $(seq 1 600); do curl -sf "$1/health" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "bench-serve: no /health at $1" >&2
  return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

max_streams=$(echo "$streams" | tr ',' '\n' | sort -n | tail -n 1)
results="$work/results.jsonl"
: > "$results"
run_load() {  # $1: engine label, $2: url, $3: model name in the API
  for s in ${streams//,/ }; do
    say "$1: $s stream(s)"
    # A warm-up request first: the peer compiles its pipelines lazily on its first steps.
    node "$top/scripts/bench_serve_client.cjs" "$2" "$3" 1 1 "$prompt" 8 "$vocab" >/dev/null
    VKGRAPH_NODE_MODULES="$node_modules" node "$top/scripts/bench_serve_client.cjs" "$2" "$3" "$s" "$requests" \
      "$prompt" "$tokens" "$vocab" | python3 -c "import json,sys; r=json.loads(sys.stdin.read()); r['engine']=sys.argv[1]; r['round']=int(sys.argv[2]); print(json.dumps(r))" "$1" "$round" >> "$results"
  done
}
export VKGRAPH_NODE_MODULES="$node_modules"
ctx=$((prompt + tokens + 16))
for round in $(seq 1 "$rounds"); do
  say "round $round/$rounds"
  for engine in ${engines//,/ }; do
    log="$work/vkgraph-$engine.log"
    "$vkgraph" serve -m "$model" --port 0 --engine "$engine" --parallel "$max_streams" -c "$ctx" --queue 256 2> "$log" &
    pids+=($!)
    port=$(port_of "$log" 'http://127\.0\.0\.1:[0-9]+')
    wait_health "http://127.0.0.1:$port"
    run_load "vkgraph --engine $engine" "http://127.0.0.1:$port" "$(basename "$model" .gguf)"
    grep -E "engine ready" "$log" | head -n 1 >&2 || true
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  done

  if [ "$peer" = 1 ]; then
    log="$work/peer.log"
    port=$(free_port)
    GGML_VK_VISIBLE_DEVICES=${GGML_VK_VISIBLE_DEVICES:-0} "$server_bin" -m "$model" --host 127.0.0.1 --port "$port" \
      -ngl 99 --parallel "$peer_parallel" -c $((peer_parallel * 512)) --no-webui 2> "$log" > /dev/null &
    pids+=($!)
    wait_health "http://127.0.0.1:$port"
    run_load "llama-server --parallel $peer_parallel" "http://127.0.0.1:$port" "$(basename "$model")"
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  fi
done

# --- report ---------------------------------------------------------------------------------------
report=$(python3 - "$results" "$(nproc)" "$(uptime | sed 's/.*load average: //')" \
  "$("$vkgraph" devices 2>/dev/null | grep -m1 -E '^device [0-9]+' || echo '?')" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cores, load, device = sys.argv[2], sys.argv[3], sys.argv[4]
print(f"device: {device.strip()}; {cores} cores; load average at the end: {load}")
print()
print("| engine | streams | requests | tokens | agg t/s (median) | x one stream | TTFT p50 ms | TTFT p95 ms | rounds |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
engines = sorted({r["engine"] for r in rows}, key=lambda e: (not e.startswith("vkgraph"), e))
for e in engines:
    by = {}
    for r in rows:
        if r["engine"] == e:
            by.setdefault(r["streams"], []).append(r)
    one = statistics.median(x["tokens_per_second"] for x in by.get(1, [])) if 1 in by else None
    for s in sorted(by):
        rs = by[s]
        tps = statistics.median(x["tokens_per_second"] for x in rs)
        ratio = f"{tps / one:.2f}" if one else "-"
        p50 = statistics.median(x["ttft_p50_ms"] for x in rs)
        p95 = statistics.median(x["ttft_p95_ms"] for x in rs)
        each = ", ".join(f"{x['tokens_per_second']:.1f}" for x in rs)
        short = sum(x["short"] for x in rs)
        note = f" ({short} short)" if short else ""
        print(f"| {e} | {s} | {rs[0]['requests']} | {rs[0]['tokens']}{note} | {tps:.1f} | {ratio} | {p50:.0f} | {p95:.0f} | {each} |")
PY
)
echo "$report"
if [ -n "$out" ]; then echo "$report" > "$out"; say "wrote $out"; fi
