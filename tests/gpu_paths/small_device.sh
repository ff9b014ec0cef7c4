#!/bin/sh
# ctest small_device_limits: lavapipe told to act like a small device through the VKGRAPH_LIMIT_*
# overrides (engine/backend/vulkan/device_limits.h): 128 invocations per workgroup (the Vulkan
# minimum: the 128-wide fallback rows) and kernels chosen for subgroups of 4 (the subgroup kernels
# that need 8 lanes give way). Every op case of every type with Vulkan kernels must pass against
# the CPU reference on the rows those limits leave. Shared memory stays at lavapipe's 32 KiB
# (phones' and Apple's size): at 16 or 24 KiB the paged attention with 32 query heads per kv head
# has no tile that fits (docs/hardware.md).
# usage: small_device.sh VKGRAPH TESTS
set -eu
vkgraph=$1 tests=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
export VKGRAPH_LIMIT_WORKGROUP_INVOCATIONS=128 VKGRAPH_LIMIT_SUBGROUP_SIZE=4
"$vkgraph" devices >"$out"
grep -q "(128 invocations)" "$out" || { cat "$out"; echo "FAIL: invocations not lowered"; exit 1; }
grep -q "subgroup size: *4 " "$out" || { cat "$out"; echo "FAIL: subgroup size not lowered"; exit 1; }
"$tests" "vulkan ops match the CPU reference"
