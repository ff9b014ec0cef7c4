#include "engine/backend/backend.h"

namespace vkgraph {

DeviceRecord Backend::device_record() const {
  DeviceRecord r;
  r.backend = name();
  r.name = device_name();
  return r;
}

}  // namespace vkgraph
