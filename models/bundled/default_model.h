#pragma once
// Where the bundled default model is: used when a command is given no `-m`.

#include <string>

namespace vkgraph::models {

// The path of the bundled stories260K.gguf. Looks, in order, at $VKGRAPH_DEFAULT_MODEL, the
// install location (<prefix>/share/vkgraph/ beside <prefix>/bin/vkgraph) and the source tree the
// binary was built from. Throws an Error listing the places it looked when none exists.
std::string default_model_path();

}  // namespace vkgraph::models
