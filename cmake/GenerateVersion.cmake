# Run at every build (cmake -P): writes the build's version and commit into a source file, and
# touches it only when they changed, so a new commit recompiles one file instead of the tree.
# In: SOURCE_DIR, OUTPUT, VERSION.
execute_process(COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY "${SOURCE_DIR}" OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT commit)
  set(commit "unknown")
endif()
execute_process(COMMAND git status --porcelain --untracked-files=no
  WORKING_DIRECTORY "${SOURCE_DIR}" OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(dirty)
  string(APPEND commit "-dirty")
endif()
set(content "// Generated at build time by cmake/GenerateVersion.cmake.
#include \"engine/core/version.h\"
namespace vkgraph {
const char* version() { return \"${VERSION}\"; }
const char* git_commit() { return \"${commit}\"; }
}  // namespace vkgraph
")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT "${old}" STREQUAL "${content}")
  file(WRITE "${OUTPUT}" "${content}")
endif()
