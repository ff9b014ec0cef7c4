#include "shaders/embedded.h"

namespace vkgraph::shaders {

const EmbeddedShader* find(std::string_view name) {
  for (const EmbeddedShader* shader : all()) {
    if (shader->name == name) return shader;
  }
  return nullptr;
}

}  // namespace vkgraph::shaders
