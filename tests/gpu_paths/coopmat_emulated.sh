#!/bin/sh
# ctest coopmat_emulated_<shape>: the cooperative-matrix matmul and attention kernels executed
# through the emulation (shaders/common/coopmat_emulated.glsl) at one shape, against the CPU
# reference: the device reports the shape, the plan picks the emulated kernels (a run that
# quietly fell back to the portable rows would test nothing) and none with the switches off, and
# every emulated row passes the op cases it runs. Then the model reference tests (llama.cpp's
# logits) on Vulkan with the same shape: their prefill matmuls run the emulated kernel.
# usage: coopmat_emulated.sh VKGRAPH TESTS SHAPE
set -eu
vkgraph=$1 tests=$2
export VKGRAPH_EMULATE_COOPMAT=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$vkgraph" devices >"$out"
grep -q "cooperative matrix: *emulated (VKGRAPH_EMULATE_COOPMAT), 1 shapes" "$out" ||
  { cat "$out"; echo "FAIL: vkgraph devices does not show the emulated shape $3"; exit 1; }
grep -q "    $3 A f16 B f16 C f32 -> f32 (subgroup)" "$out" ||
  { cat "$out"; echo "FAIL: vkgraph devices does not list $3"; exit 1; }

# A prefill step of a Q4_0 model: the matmuls take the emulated coopmat row. (stories260K's
# head_dim 8 keeps its attention on the portable tiles; the op cases below cover attention.)
"$vkgraph" plan --weights q4_0 --tokens 64 -v >"$out"
grep -q "matmul/coopmat_emu_q4_0_f32" "$out" ||
  { cat "$out"; echo "FAIL: the plan does not use matmul/coopmat_emu_q4_0_f32 under VKGRAPH_EMULATE_COOPMAT=$3"; exit 1; }
VKGRAPH_DISABLE_COOPMAT=1 "$vkgraph" plan --weights q4_0 --tokens 64 -v >"$out"
if grep -q "coopmat" "$out"; then cat "$out"; echo "FAIL: VKGRAPH_DISABLE_COOPMAT=1 still plans coopmat kernels"; exit 1; fi
"$vkgraph" plan --no-coopmat --weights q4_0 --tokens 64 -v >"$out"
if grep -q "coopmat" "$out"; then cat "$out"; echo "FAIL: --no-coopmat still plans coopmat kernels"; exit 1; fi

# Every emulated row (each weight type x activation type of the matmul, both attention cache
# types) on op cases; a row no case runs fails (test-ops says so). To keep CI lean, one row runs
# every matmul case and the others the 33 x 96 x 65 prefill (tile edges on both sides, three K
# steps); attention runs the 17-row prefills (head_dim 64 at every GQA ratio, windowed, shuffled,
# and queries and keys of 1e5).
rows=$("$vkgraph" test-ops --list-kernels | awk '$1 ~ /coopmat_emu/ { print $1 }')
[ -n "$rows" ] || { echo "FAIL: no coopmat_emu rows in the kernel table"; exit 1; }
for row in $rows; do
  case $row in
    matmul/coopmat_emu_q4_0_f32) filter="" ;;
    matmul/*) filter="m=33 n_in" ;;
    *) filter="m=17 n_slots=17 " ;;
  esac
  "$vkgraph" test-ops --kernel "$row" --op "$filter" --failures >"$out" 2>&1 || { cat "$out"; echo "FAIL: $row"; exit 1; }
  grep "^row " "$out" | head -n 1
done
"$tests" "model logits and greedy tokens match llama.cpp on Vulkan"
