#!/usr/bin/env bash
# Builds llama.cpp's llama-server from the source bundle of the npm package node-llama-cpp,
# linked against the package's prebuilt Vulkan libraries: the peer compare-llamacpp.sh measures
# with llama-bench, as a server (scripts/bench-serve.sh --peer-server). The server's own code
# (tools/server, tools/mtmd, the UI stub, cpp-httplib, the hash helper) is compiled from the
# bundle as static libraries by its CMake (a CPU-only configuration: no ggml of ours is linked);
# llama, llama-common and ggml come from the package, so the kernels are the released ones.
#
#   bash scripts/build-peer-server.sh        # prints the path of the llama-server it built
#
# Needs what compare-llamacpp.sh has fetched (~/.cache/vkgraph/compare); takes about 30 minutes
# on 2 cores once, then is cached.
set -euo pipefail
cache="${XDG_CACHE_HOME:-$HOME/.cache}/vkgraph"
peer="$cache/compare/node-llama-cpp-3.22.1"
src="$peer/llama.cpp"
libs="$peer/node_modules/@node-llama-cpp/linux-x64-vulkan/bins/linux-x64-vulkan"
out="$libs/llama-server"  # next to the libraries: ggml finds its backends beside the executable
obj="$cache/peer-server/prebuilt-link/obj"
if [ -x "$out" ]; then echo "$out"; exit 0; fi
[ -f "$src/tools/server/server.cpp" ] && [ -d "$libs" ] || {
  echo "build-peer-server: run scripts/compare-llamacpp.sh once first (it fetches the package and its source)" >&2
  exit 1
}
say() { echo "build-peer-server: $*" >&2; }
say "compiling the server's sources in $obj (once)"
cmake -S "$src" -B "$obj" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF \
  -DGGML_VULKAN=OFF -DGGML_OPENMP=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_CURL=OFF >/dev/null
archives=(tools/server/libllama-server-impl.a tools/server/libserver-context.a tools/mtmd/libmtmd.a
          tools/ui/libllama-ui.a vendor/cpp-httplib/libcpp-httplib.a vendor/hash/libvendor-hash.a)
main_obj=tools/server/CMakeFiles/llama-server.dir/main.cpp.o
ninja -C "$obj" "${archives[@]}" "$main_obj" >/dev/null
lib_of() { ls "$libs" | grep -E "^lib$1\\.vulkan\\.v[0-9.]+\\.so\$" | head -n 1; }
say "linking against the prebuilt libraries in $libs"
g++ -o "$out" "$obj/$main_obj" -Wl,--start-group "${archives[@]/#/$obj/}" -Wl,--end-group -L "$libs" \
  -lllama-common -l:"$(lib_of llama)" -l:"$(lib_of ggml)" -lggml-base -Wl,-rpath,"$libs" -lpthread
echo "$out"
