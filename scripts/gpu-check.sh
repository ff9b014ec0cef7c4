#!/usr/bin/env bash
# One command for a machine with a GPU: what vkgraph does on it, in a markdown report.
#
#   bash scripts/gpu-check.sh [BUILD_DIR] [REPORT]     (defaults: build, gpu-check.md)
#
# From a build made there (scripts/setup.sh, then the README's build) or copied there (the
# BUILD_DIR holds cli/vkgraph and tests/vkgraph_tests; ../shared with the models and llama.cpp
# references must sit beside the checkout for the reference tests). Steps, each under its own
# time limit so the whole run ends within 8 minutes:
#   1. vkgraph devices (and --json): the card, driver, cooperative-matrix shapes, CUDA's view;
#   2. vkgraph test-ops on Vulkan (cooperative matrices on where the driver lists them), with
#      `vkgraph plan` of a prefill step showing which kernels were chosen;
#   3. vkgraph test-ops on CUDA;
#   4. the model reference tests (llama.cpp's logits) on Vulkan and on CUDA;
#   5. vkgraph bench of smollm2-135m and llama-3.2-1b shapes (synthetic weights) as Q4_0 and
#      Q4_K_M, prompt 512 and generation 128, on Vulkan and on CUDA.
# A backend that cannot run (no NVIDIA driver: CUDA) is reported "unavailable" with the reason and
# its steps are not run; a failing step is reported and the rest still run. Exit status: 0 when
# every step that could run passed, 1 otherwise. docs/hardware.md says where to record the result.
set -uo pipefail

project_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build}
report=${2:-gpu-check.md}
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
vkgraph="$build/cli/vkgraph"
tests="$build/tests/vkgraph_tests"
[ -x "$vkgraph" ] || { echo "gpu-check: $vkgraph is missing: build first (README) or pass the build folder" >&2; exit 2; }
# Seconds per step (the sum stays under 8 minutes: 20+90+90+60+60+2*60 = 440).
limit_devices=20 limit_ops=90 limit_reference=60 limit_bench=60
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
started=$(date +%s)

section() { printf '\n## %s\n\n' "$1" >>"$report"; }
# run NAME LIMIT CMD...: runs CMD under a time limit, records its status, time and output tail.
run() {
  local name=$1 limit=$2
  shift 2
  local out="$work/$(echo "$name" | tr -c 'A-Za-z0-9' '_').log" t0 rc status
  t0=$(date +%s)
  echo "gpu-check: $name" >&2
  timeout --kill-after=10 "$limit" "$@" >"$out" 2>&1
  rc=$?
  # test-ops lists the cases of weight types the backend has no kernels for as failures naming
  # that; they say what is missing, not that a kernel is wrong.
  if [ "$rc" = 1 ] && grep -q '^FAIL' "$out" && ! grep '^FAIL' "$out" | grep -qv 'no Vulkan kernel for\|no CUDA kernel for'; then
    rc=0
    printf -- '- %s: %s cases of types without kernels on this backend\n' "$name" "$(grep -c '^FAIL' "$out")" >>"$report"
  fi
  case $rc in
    0) status=pass ;;
    4) status="pass (skipped: $(grep -m1 -o 'SKIPPED:.*\|skipped.*' "$out" | head -c 200))" ;;
    124 | 137) status="FAIL (over ${limit} s)"; failed=1 ;;
    *) status="FAIL (exit $rc)"; failed=1 ;;
  esac
  printf -- '- **%s**: %s, %d s: `%s`\n' "$name" "$status" "$(($(date +%s) - t0))" "$*" >>"$report"
  printf '\n```\n%s\n```\n' "$(tail -n 25 "$out")" >>"$report"
  LAST_LOG=$out
}
unavailable() { printf -- '- **%s**: unavailable (%s)\n' "$1" "$2" >>"$report"; }

{
  echo "# vkgraph on $(hostname)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $("$vkgraph" --version 2>&1), build \`$build\`."
  if command -v nvidia-smi >/dev/null; then
    echo
    echo '```'
    nvidia-smi --query-gpu=name,driver_version,memory.total,pci.bus_id --format=csv 2>&1 | head -n 5
    echo '```'
  fi
} >"$report"

section "Devices"
run "vkgraph devices" "$limit_devices" "$vkgraph" devices
devices_log=$LAST_LOG
"$vkgraph" devices --json >"$work/devices.json" 2>/dev/null || true
# CUDA runs when `vkgraph devices --json` lists an available cuda device; else the reason it gives.
cuda_reason=$(python3 - "$work/devices.json" <<'PY' 2>&1
import json, sys
try:
    devices = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"vkgraph devices --json failed ({e})"); sys.exit()
cuda = [d for d in devices if d.get("backend") == "cuda"]
if not any(d.get("available") for d in cuda):
    reasons = [d.get("reason") or d.get("unavailable_reason") or "" for d in cuda]
    print(next((r for r in reasons if r), "no CUDA device listed (built without CUDA?)"))
PY
)
if [ -n "$cuda_reason" ]; then
  # The text report's own words, when it has them.
  text_reason=$(sed -n 's/^CUDA: unavailable (\(.*\))$/\1/p' "$devices_log" | head -n 1)
  [ -n "$text_reason" ] && cuda_reason=$text_reason
fi
vulkan_ok=1
grep -q '^device 0' "$devices_log" || vulkan_ok=0

section "Op cases against the CPU reference"
if [ "$vulkan_ok" = 1 ]; then
  run "test-ops vulkan" "$limit_ops" "$vkgraph" test-ops --backend vulkan --failures
  # Which kernels a prefill step of a Q4_0 model picks on this device (coopmat rows where listed).
  run "plan vulkan (prefill)" "$limit_devices" "$vkgraph" plan --weights q4_0 --tokens 64 -v
else
  unavailable "test-ops vulkan" "no Vulkan device"
fi
if [ -z "$cuda_reason" ]; then
  run "test-ops cuda" "$limit_ops" "$vkgraph" test-ops --backend cuda --failures
else
  unavailable "test-ops cuda" "$cuda_reason"
fi

section "Models against llama.cpp"
if [ ! -x "$tests" ]; then
  unavailable "model reference tests" "$tests is missing (build the tests)"
elif [ ! -d "$project_dir/../shared/reference" ]; then
  unavailable "model reference tests" "$project_dir/../shared/reference is missing"
else
  if [ "$vulkan_ok" = 1 ]; then
    run "model reference vulkan" "$limit_reference" "$tests" "model logits and greedy tokens match llama.cpp on Vulkan"
  else
    unavailable "model reference vulkan" "no Vulkan device"
  fi
  if [ -z "$cuda_reason" ]; then
    run "model reference cuda" "$limit_reference" "$tests" "model logits and greedy tokens match llama.cpp on CUDA"
  else
    unavailable "model reference cuda" "$cuda_reason"
  fi
fi

section "Speed (synthetic weights, llama-bench style)"
backends=()
[ "$vulkan_ok" = 1 ] && backends+=(vulkan)
[ -z "$cuda_reason" ] && backends+=(cuda)
if [ "${#backends[@]}" = 0 ]; then
  unavailable "bench" "no GPU backend"
else
  list=$(IFS=,; echo "${backends[*]}")
  for quant in q4_0 q4_k_m; do
    run "bench $quant ($list)" "$limit_bench" "$vkgraph" bench --synth "smollm2-135m:$quant" \
      --synth "llama-3.2-1b:$quant" -p 512 -n 128 -r 2 --backend "$list" -o md
  done
fi
[ -n "$cuda_reason" ] && printf '\nCUDA: unavailable (%s)\n' "$cuda_reason" >>"$report"

printf '\nTotal: %d s. Record what ran, on which card and driver, in docs/hardware.md.\n' \
  "$(($(date +%s) - started))" >>"$report"
echo "gpu-check: report in $report" >&2
exit "$failed"
