#!/usr/bin/env bash
# Sets up the machine if needed, builds vkgraph and starts a chat on the bundled default model.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
exec ./build/cli/vkgraph chat "$@"
