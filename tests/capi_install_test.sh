#!/bin/sh
# Installs vkgraph into a temporary prefix, builds examples/c against it out of tree (with
# find_package and with pkg-config), runs both greedily on the bundled model and checks their
# text equals `vkgraph run`'s; checks libvkgraph.so exports only vkgraph_* symbols.
# Usage: capi_install_test.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
source=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
lib=$prefix/lib/libvkgraph.so
[ -f "$lib" ] || { echo "no $lib after install"; ls -R "$prefix"; exit 1; }
foreign=$(nm -D --defined-only "$lib" | awk '{print $NF}' | grep -v '^vkgraph_' || true)
[ -z "$foreign" ] || { echo "libvkgraph.so exports symbols outside vkgraph_*:"; echo "$foreign" | head; exit 1; }
[ "$(nm -D --defined-only "$lib" | grep -c ' vkgraph_')" -ge 20 ] || { echo "the C API is not exported"; exit 1; }
for f in include/vkgraph.h lib/cmake/vkgraph/vkgraphConfig.cmake lib/pkgconfig/vkgraph.pc share/vkgraph/stories260K.gguf bin/vkgraph; do
  [ -f "$prefix/$f" ] || { echo "missing $prefix/$f"; exit 1; }
done

# The bundled model must be found from the installed library, not the source tree.
export VKGRAPH_DEFAULT_MODEL=
export VKGRAPH_CACHE_DIR="$work/cache"

cmake -S "$source/examples/c" -B "$work/with-cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/with-cmake" >/dev/null

cp "$source/examples/c/complete.c" "$source/examples/c/Makefile" "$work/"
mkdir -p "$work/with-pkgconfig"
PKG_CONFIG_PATH=$prefix/lib/pkgconfig make -s -C "$work" complete >/dev/null
mv "$work/complete" "$work/with-pkgconfig/complete"

"$prefix/bin/vkgraph" run -p "Once upon a time" -n 32 --temp 0 >"$work/expected.txt"
for how in with-cmake with-pkgconfig; do
  "$work/$how/complete" -p "Once upon a time" -n 32 --temp 0 >"$work/$how.txt" 2>"$work/$how.err"
  if ! cmp -s "$work/expected.txt" "$work/$how.txt"; then
    echo "example built $how differs from vkgraph run:"
    diff "$work/expected.txt" "$work/$how.txt" || true
    exit 1
  fi
done
echo "ok: $(wc -c <"$work/expected.txt") bytes equal: $(cat "$work/expected.txt")"
