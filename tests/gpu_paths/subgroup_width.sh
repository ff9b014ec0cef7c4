#!/bin/sh
# ctest subgroup_width_<N>: lavapipe at another SIMD width (LP_NATIVE_VECTOR_WIDTH: 128 bits =
# subgroups of 4, 512 = 16 where the CPU has AVX-512), so every kernel meets a subgroup size other
# than the default 8: the device must report it, every op case must pass against the CPU
# reference (kernels that need wider subgroups are not chosen or get them pinned), and the model
# reference tests must match llama.cpp.
# usage: subgroup_width.sh VKGRAPH TESTS VECTOR_BITS SUBGROUP
set -eu
vkgraph=$1 tests=$2
export LP_NATIVE_VECTOR_WIDTH=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$vkgraph" devices >"$out"
if ! grep -q "subgroup size: *$4 " "$out"; then
  if [ "$3" = 512 ] && ! grep -q avx512f /proc/cpuinfo; then
    echo "SKIP: this CPU has no AVX-512, so lavapipe cannot run 512-bit (16-lane) subgroups"
    exit 4
  fi
  cat "$out"
  echo "FAIL: LP_NATIVE_VECTOR_WIDTH=$3 should give subgroups of $4"
  exit 1
fi
# The op cases of every type with Vulkan kernels (the weight types without any are the CPU's).
"$tests" "vulkan ops match the CPU reference"
# Rows of a product the same bits whatever the step's size: at 16 lanes a matmul_add runs the norm
# after it in its own dispatch (lowering_add_norm.cpp), whose sum must match the separate kernel's.
"$tests" "batch invariance: a matrix product's row does not depend on the other tokens (vulkan)"
# Likewise the rope a one-token q/k/v product runs in its dispatch (lowering_cat_rope.cpp), with
# the last subgroup looping over the heads in steps of its width.
"$tests" "cat rope: a one-token step's products and rope with its cache writes give the separate kernels' bits (vulkan)"
"$tests" "model logits and greedy tokens match llama.cpp on Vulkan"
