#!/usr/bin/env bash
# One-time set-up of a build machine. Idempotent: run it again at any time.
#
# On Debian 12 (bookworm) it installs everything the build and the tests need:
#   - compilers and CMake/Ninja, fmt, CLI11, the Vulkan loader, validation layers, tmux, libcurl;
#   - Mesa 25 lavapipe and Catch2 3 from bookworm-backports;
#   - when the system glslang cannot compile GL_KHR_cooperative_matrix (bookworm's glslang 12),
#     glslang 15 and spirv-val built from Debian trixie's source packages, and the Vulkan 1.4
#     headers from trixie's vulkan-loader source, into a per-user cache that `.deps/` links to.
# Other distributions: see the README for their package lists; the script then only does the
# glslang/header part if it is needed.
set -euo pipefail

project_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_dir=${VKGRAPH_DEPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkgraph/deps}
deps_dir="$project_dir/.deps"

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root for: $* (run as root or install sudo)"; fi
}

is_bookworm() { [ -r /etc/os-release ] && . /etc/os-release && [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; }

# --- packages --------------------------------------------------------------------------------
apt_sources_dir=/etc/apt/sources.list.d
write_source() {  # file, content: only rewritten when different, so re-runs change nothing
  local file=$1 content=$2
  if [ ! -f "$file" ] || [ "$(cat "$file")" != "$content" ]; then
    printf '%s\n' "$content" | as_root tee "$file" >/dev/null
    need_update=1
  fi
}

install_debian_packages() {
  need_update=0
  write_source "$apt_sources_dir/vkgraph-bookworm-backports.sources" "Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
  # Source packages only: nothing from trixie is installed as a binary.
  write_source "$apt_sources_dir/vkgraph-trixie-src.sources" "Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
  local stamp=/var/lib/apt/lists/vkgraph-updated
  if [ "$need_update" = 1 ] || [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then
    say "apt-get update"
    as_root apt-get update -qq
    as_root touch "$stamp"
  fi
  local base=(build-essential cmake ninja-build pkg-config git dpkg-dev xz-utils python3
              libvulkan-dev vulkan-validationlayers vulkan-tools libfmt-dev libcli11-dev
              glslang-tools spirv-tools nlohmann-json3-dev libedit-dev tmux
              libcurl4-openssl-dev libssl-dev
              clang clang-format libclang-rt-14-dev ccache chromium
              libcpp-httplib-dev nginx-light curl python3-jinja2 glslc spirv-headers)
  # libcurl + OpenSSL's libcrypto: `-hf` downloads from the Hugging Face Hub (HTTP, SHA-256 checks);
  # clang + its runtime: the fuzzers (libFuzzer) and the sanitizer builds; clang-format: the format
  # check of scripts/test.sh; ccache: repeat builds;
  # chromium: the test that renders `vkgraph bench --plot`'s SVG;
  # cpp-httplib: `vkgraph serve`'s HTTP; nginx and curl: the server's scale-out and curl tests;
  # python3-jinja2: the reference renderer of the chat-template tests; glslc and spirv-headers
  # (its CMake package, which ggml-vulkan's CMakeLists asks for): the natively built llama.cpp
  # that the benchmarks measure against (scripts/peer/build-native.sh).
  local backports=(mesa-vulkan-drivers catch2)
  say "installing build tools and libraries"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${base[@]}" >/dev/null
  say "installing Mesa 25 (lavapipe) and Catch2 3 from bookworm-backports"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -t bookworm-backports "${backports[@]}" >/dev/null
  # Node.js runs the official OpenAI client against `vkgraph serve` in the tests. A node that is
  # already installed (another vendor's package) is used as it is: Debian's npm would conflict.
  if ! command -v npm >/dev/null; then
    say "installing Node.js and npm"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
}

# --- npm packages of the server tests ------------------------------------------------------------
# The official OpenAI client (tests/serve/), installed into the per-user cache, never committed;
# `.deps/node_modules` links to it.
install_node_packages() {
  local openai_ver=4.104.0
  local prefix="$cache_dir/node-openai-$openai_ver"
  command -v npm >/dev/null || die "npm is missing: install Node.js (>= 18) and npm (the server tests need them)"
  if [ -f "$prefix/node_modules/openai/package.json" ]; then
    say "using cached openai $openai_ver for node ($prefix)"
  else
    say "installing the openai $openai_ver npm package (the server tests' client)"
    rm -rf "$prefix.tmp"
    mkdir -p "$prefix.tmp"
    npm install --prefix "$prefix.tmp" --no-audit --no-fund --silent "openai@$openai_ver" >/dev/null
    rm -rf "$prefix"; mv "$prefix.tmp" "$prefix"
  fi
  link_dep node_modules "$prefix/node_modules"
}

# --- glslang with cooperative matrices ------------------------------------------------------------
glslang_can_coopmat() {  # $1: a glslangValidator
  local tmp; tmp=$(mktemp -d)
  cat > "$tmp/probe.comp" <<'GLSL'
#version 450
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
layout(local_size_x = 32) in;
layout(set = 0, binding = 0) buffer B { float data[]; };
void main() {
  coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> c;
  coopMatLoad(c, data, 0, 16, gl_CooperativeMatrixLayoutRowMajor);
  coopMatStore(c, data, 256, 16, gl_CooperativeMatrixLayoutRowMajor);
}
GLSL
  local ok=1
  "$1" -V --target-env vulkan1.3 -o "$tmp/probe.spv" "$tmp/probe.comp" >/dev/null 2>&1 && ok=0
  [ "$ok" = 0 ] && [ -n "${2:-}" ] && { "$2" --target-env vulkan1.3 "$tmp/probe.spv" >/dev/null 2>&1 || ok=1; }
  rm -rf "$tmp"
  return $ok
}

# Fetches a trixie source package's upstream tarball into $1 and unpacks it; prints the
# directory it unpacked to. Only the upstream tarball is used: some mirrors lack the .dsc of a
# package, so apt-get's exit code alone does not decide.
fetch_trixie_source() {
  local work=$1 pkg=$2
  ( cd "$work" && apt-get source --download-only -qq "$pkg/trixie" >/dev/null 2>&1 ) || true
  local tarball; tarball=$(ls "$work"/"${pkg}"_*.orig.tar.* 2>/dev/null | head -n 1)
  [ -n "$tarball" ] || die "could not fetch the source package '$pkg' from trixie (is the deb-src line reachable?)"
  local top; top=$(tar -tf "$tarball" | head -n 1 | cut -d/ -f1)
  tar -C "$work" -xf "$tarball"
  echo "$top"
}

link_dep() {  # name, cached prefix
  mkdir -p "$deps_dir"
  ln -sfn "$2" "$deps_dir/$1"
}

build_shader_tools() {
  local glslang_ver=15.1.0 spirv_tools_ver=2025.1 headers_ver=1.4.309
  local glslang_prefix="$cache_dir/glslang-$glslang_ver"
  local spirv_prefix="$cache_dir/spirv-tools-$spirv_tools_ver"
  local headers_prefix="$cache_dir/vulkan-headers-$headers_ver"
  local jobs; jobs=$(nproc)

  if [ -x "$glslang_prefix/bin/glslangValidator" ] && [ -x "$spirv_prefix/bin/spirv-val" ] &&
     [ -f "$headers_prefix/include/vulkan/vulkan_core.h" ]; then
    say "using cached glslang $glslang_ver, spirv-val $spirv_tools_ver, Vulkan headers $headers_ver ($cache_dir)"
  else
    command -v apt-get >/dev/null || die "glslang is too old and this is not a Debian-like system: install glslang >= 14, spirv-tools >= 2023.6 and Vulkan headers >= 1.3.255 (see README)"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$cache_dir"
    if [ ! -f "$headers_prefix/include/vulkan/vulkan_core.h" ]; then
      say "unpacking the Vulkan $headers_ver headers from trixie's vulkan-loader source"
      local loader; loader=$(fetch_trixie_source "$work" vulkan-loader)
      mkdir -p "$headers_prefix.tmp"
      cp -r "$work/$loader/vulkan-headers/include" "$headers_prefix.tmp/"
      rm -rf "$headers_prefix"; mv "$headers_prefix.tmp" "$headers_prefix"
    fi
    if [ ! -x "$glslang_prefix/bin/glslangValidator" ]; then
      say "building glslang $glslang_ver from trixie's source package (about 2 minutes)"
      local src; src=$(fetch_trixie_source "$work" glslang)
      cmake -S "$work/$src" -B "$work/glslang-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DENABLE_OPT=OFF -DGLSLANG_TESTS=OFF -DBUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX="$glslang_prefix.tmp" >/dev/null
      cmake --build "$work/glslang-build" --target install -j "$jobs" >/dev/null
      rm -rf "$glslang_prefix"; mv "$glslang_prefix.tmp" "$glslang_prefix"
      # The installed CMake files name the .tmp prefix; nothing of ours uses them.
    fi
    if [ ! -x "$spirv_prefix/bin/spirv-val" ]; then
      say "building spirv-val $spirv_tools_ver from trixie's source package (about 1 minute)"
      local headers_src tools_src
      headers_src=$(fetch_trixie_source "$work" spirv-headers)
      tools_src=$(fetch_trixie_source "$work" spirv-tools)
      cmake -S "$work/$tools_src" -B "$work/spirv-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DSPIRV-Headers_SOURCE_DIR="$work/$headers_src" -DSPIRV_SKIP_TESTS=ON -DSPIRV_WERROR=OFF >/dev/null
      cmake --build "$work/spirv-build" --target spirv-val -j "$jobs" >/dev/null
      mkdir -p "$spirv_prefix.tmp/bin"
      cp "$work/spirv-build/tools/spirv-val" "$spirv_prefix.tmp/bin/"
      rm -rf "$spirv_prefix"; mv "$spirv_prefix.tmp" "$spirv_prefix"
    fi
  fi
  glslang_can_coopmat "$glslang_prefix/bin/glslangValidator" "$spirv_prefix/bin/spirv-val" ||
    die "the glslang in $glslang_prefix still cannot compile cooperative-matrix shaders"
  link_dep glslang "$glslang_prefix"
  link_dep spirv-tools "$spirv_prefix"
  link_dep vulkan-headers "$headers_prefix"
}

# --- llama.cpp's chat templates (test data) ------------------------------------------------------
# The real templates in models/templates of the llama.cpp source that the npm package
# node-llama-cpp carries as a git bundle (the release scripts/compare-llamacpp.sh measures). The
# chat-template tests render each with python3-jinja2 and with vkgraph; they are fetched here,
# once, into the cache, and never committed.
fetch_llamacpp_templates() {
  local version=3.22.1
  local dest="$cache_dir/llama.cpp-templates-node-llama-cpp-$version"
  if [ ! -f "$dest/.complete" ]; then
    command -v npm >/dev/null || die "npm is missing: install Node.js and npm (llama.cpp's chat templates come with it)"
    say "fetching llama.cpp's chat templates (npm package node-llama-cpp $version, 35 MB, once)"
    local work; work=$(mktemp -d)
    ( cd "$work" && npm pack --silent "node-llama-cpp@$version" >/dev/null ) ||
      { rm -rf "$work"; die "npm could not fetch node-llama-cpp@$version"; }
    tar -xzf "$work/node-llama-cpp-$version.tgz" -C "$work" package/llama/gitRelease.bundle
    git clone -q --no-checkout "$work/package/llama/gitRelease.bundle" "$work/llama.cpp" 2>/dev/null
    rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
    git -C "$work/llama.cpp" archive HEAD models/templates |
      tar -x -C "$dest.tmp" --strip-components=2 --wildcards 'models/templates/*.jinja'
    local count; count=$(ls "$dest.tmp"/*.jinja 2>/dev/null | wc -l)
    rm -rf "$work"
    [ "$count" -ge 70 ] || die "llama.cpp's source in node-llama-cpp $version gave $count templates (expected 70 or more)"
    touch "$dest.tmp/.complete"
    rm -rf "$dest" && mv "$dest.tmp" "$dest"
  fi
  link_dep llama-cpp-templates "$dest"
}

vulkan_headers_have_coopmat() {
  grep -q VK_KHR_cooperative_matrix /usr/include/vulkan/vulkan_core.h 2>/dev/null
}

main() {
  if is_bookworm; then
    install_debian_packages
  else
    say "not Debian 12: install the packages the README lists for your system; checking the shader tools only"
  fi
  local sys_glslang; sys_glslang=$(command -v glslangValidator || true)
  local sys_val; sys_val=$(command -v spirv-val || true)
  if [ -n "$sys_glslang" ] && [ -n "$sys_val" ] && glslang_can_coopmat "$sys_glslang" "$sys_val" &&
     vulkan_headers_have_coopmat; then
    say "system glslang, spirv-val and Vulkan headers understand cooperative matrices"
    rm -f "$deps_dir/glslang" "$deps_dir/spirv-tools" "$deps_dir/vulkan-headers"
  else
    build_shader_tools
  fi
  install_node_packages
  fetch_llamacpp_templates
  say "ready. Build with: cmake -S . -B build -G Ninja && cmake --build build"
}

main "$@"
