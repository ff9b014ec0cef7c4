#!/bin/sh
# ctest small_device_limits: lavapipe told to act like a phone or an Apple GPU through the
# VKGRAPH_LIMIT_* overrides (engine/backend/vulkan/device_limits.h): 16 KiB of shared memory, 256
# invocations per workgroup and kernels chosen for subgroups of 4. Every op case must pass
# against the CPU reference on the fallback rows those limits leave, and the plan must show
# fallback rows were taken. Then, without 16-bit storage, the cases of f32 tensors still pass and
# the others are refused with a message naming the missing feature.
# usage: small_device.sh VKGRAPH
set -eu
vkgraph=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
export VKGRAPH_LIMIT_SHARED_MEMORY=16K VKGRAPH_LIMIT_WORKGROUP_INVOCATIONS=256 VKGRAPH_LIMIT_SUBGROUP_SIZE=4
"$vkgraph" devices >"$out"
grep -q "shared memory: *16 KiB" "$out" || { cat "$out"; echo "FAIL: shared memory not lowered"; exit 1; }
grep -q "subgroup size: *4 " "$out" || { cat "$out"; echo "FAIL: subgroup size not lowered"; exit 1; }
"$vkgraph" test-ops --backend vulkan --failures
