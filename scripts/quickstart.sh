#!/usr/bin/env bash
# Sets up the machine if needed, builds vkgraph and starts a chat on the bundled default model.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
if ./build/cli/vkgraph chat --help >/dev/null 2>&1; then
  exec ./build/cli/vkgraph chat "$@"
fi
# The chat is not built yet: show the devices the engine sees, then a story from the default model.
./build/cli/vkgraph devices
exec ./build/cli/vkgraph run -p "Once upon a time" -n 64 --temp 0 "$@"
