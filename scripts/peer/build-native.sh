#!/usr/bin/env bash
# Builds the strongest llama.cpp peer: the source bundle node-llama-cpp carries, compiled here with
# -DGGML_VULKAN=ON -DGGML_NATIVE=ON (CPU kernels for this machine's instruction set, Vulkan
# shaders compiled with spirv-opt), into ~/.cache/vkgraph/peer-native. Prints the folder of the
# programs (llama-bench, llama-server, llama-simple and the ggml libraries beside them).
#
#   bash scripts/peer/build-native.sh LLAMA_CPP_SOURCE
#
# Takes a while once (12 minutes on 2 cores here: hundreds of shader variants, then ggml-vulkan.cpp);
# later calls find the programs built and return at once.
set -euo pipefail

src="${1:?build-native: the llama.cpp source folder is needed}"
top=$(cd "$(dirname "$0")/../.." && pwd)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/vkgraph/peer-native"
bin="$cache/build/bin"
targets=(llama-bench llama-server llama-simple)
done_all=1
for t in "${targets[@]}"; do [ -x "$bin/$t" ] || done_all=0; done
if [ "$done_all" = 1 ]; then echo "$bin"; exit 0; fi

[ -f "$src/ggml/src/ggml-vulkan/ggml-vulkan.cpp" ] || { echo "build-native: no llama.cpp source at $src" >&2; exit 1; }
command -v glslc >/dev/null || { echo "build-native: llama.cpp's Vulkan backend needs glslc (scripts/setup.sh installs it)" >&2; exit 1; }
[ -f /usr/share/cmake/SPIRV-Headers/SPIRV-HeadersConfig.cmake ] ||
  { echo "build-native: llama.cpp's Vulkan backend needs the SPIR-V headers' CMake package (Debian's spirv-headers; scripts/setup.sh installs it)" >&2; exit 1; }
[ -x "$top/.deps/glslang/bin/glslangValidator" ] || { echo "build-native: run scripts/setup.sh first (glslang 15)" >&2; exit 1; }
# The Vulkan headers vkgraph builds against (setup.sh: 1.4), newer than Debian 12's.
headers=$(readlink -f "$top/.deps/vulkan-headers/include")
mkdir -p "$cache"
echo "build-native: building llama.cpp natively in $cache (once; minutes: hundreds of shaders)" >&2
cmake -S "$src" -B "$cache/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_VULKAN=ON -DGGML_NATIVE=ON \
  -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON \
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_APP=OFF \
  -DVulkan_INCLUDE_DIR="$headers" -DVulkan_GLSLC_EXECUTABLE="$top/scripts/peer/glslc-fallback.sh" \
  > "$cache/configure.log" 2>&1 || { tail -n 20 "$cache/configure.log" >&2; exit 1; }
cmake --build "$cache/build" --target "${targets[@]}" -j "$(nproc)" > "$cache/build.log" 2>&1 \
  || { grep -A 20 FAILED "$cache/build.log" | head -n 40 >&2; exit 1; }
echo "$bin"
