#!/usr/bin/env bash
# glslc for llama.cpp's native Vulkan build on Debian 12.
#
# Debian 12's glslc (shaderc 2023.2) predates GLSL extensions llama.cpp's shaders use where the
# device has them: GL_EXT_integer_dot_product (the int8 dot-product matmuls lavapipe runs),
# GL_KHR_cooperative_matrix (and a few variants compiled unconditionally), GL_EXT_bfloat16. A
# current glslc is shaderc on glslang 15, the glslang setup.sh builds. So every shader goes to
# Debian's glslc first, with llama.cpp's own flags; one that glslc refuses for an extension it does
# not know is compiled by glslang 15 and, where llama.cpp asked for -O, optimized by Debian's
# spirv-opt (the optimizer glslc itself runs), so the peer gets the kernels its release build has.
# NVIDIA's cooperative_matrix2 variants are refused: they take long to build and only NVIDIA's
# driver runs them, so the probe marks them unsupported and llama.cpp builds without them.
set -uo pipefail

glslang="${VKGRAPH_GLSLANG:-$(cd "$(dirname "$0")/../.." && pwd)/.deps/glslang/bin/glslangValidator}"
errors=$(mktemp)
trap 'rm -f "$errors" "$errors.spv" "$errors.comp"' EXIT

/usr/bin/glslc "$@" 2> "$errors"
status=$?
if [ "$status" = 0 ] && [ ! -s "$errors" ]; then exit 0; fi
if grep -q "GL_NV_cooperative_matrix2" "$errors" || ! grep -q "extension not supported" "$errors"; then
  cat "$errors" >&2
  exit "$status"
fi

# The same compile through glslangValidator: glslc's flags translated one by one.
args=(-V)
out="" depfile="" source="" optimize=0
while [ $# -gt 0 ]; do
  case "$1" in
    -fshader-stage=compute) args+=(-S comp) ;;
    --target-env=*) args+=(--target-env "${1#--target-env=}") ;;
    -o) out="$2"; shift ;;
    -MD) ;;
    -MF) depfile="$2"; args+=(--depfile "$2"); shift ;;
    -O) optimize=1 ;;
    -g) args+=(-g) ;;
    -D*) args+=("$1") ;;
    -*) echo "glslc-fallback: unexpected flag '$1'" >&2; exit 2 ;;
    *) source="$1" ;;
  esac
  shift
done
[ -n "$out" ] && [ -n "$source" ] || { echo "glslc-fallback: no source or no -o given" >&2; exit 2; }
# glslc resolves #include by itself; glslang wants the extension named in the source.
awk 'NR == 1, /^#version/ { print; if (/^#version/) print "#extension GL_GOOGLE_include_directive : require"; next } { print }' \
  "$source" > "$errors.comp"
"$glslang" "${args[@]}" -I"$(dirname "$source")" "$errors.comp" -o "$errors.spv" > "$errors" 2>&1 \
  || { cat "$errors" >&2; exit 1; }
if [ "$optimize" = 1 ]; then
  spirv-opt -O "$errors.spv" -o "$out" 2> "$errors" || { cat "$errors" >&2; exit 1; }
else
  cp "$errors.spv" "$out"
fi
# The dependency file names the output llama.cpp asked for.
[ -z "$depfile" ] || sed -i -e "s|$errors.spv|$out|" -e "s|$errors.comp|$source|" "$depfile"
