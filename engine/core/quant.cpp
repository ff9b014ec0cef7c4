#include "engine/core/quant.h"

#include "engine/core/error.h"

namespace vkgraph {

void dequantize_row(DType type, const void* data, float* out, size_t n) {
  const DTypeInfo& info = dtype_info(type);
  VKGRAPH_CHECK(n % info.block_elements == 0, "dequantize: {} elements of {} do not fill its {}-element blocks", n,
                info.name, info.block_elements);
  info.decode(data, out, n);
}

void quantize_row(DType type, const float* in, void* out, size_t n) {
  const DTypeInfo& info = dtype_info(type);
  VKGRAPH_CHECK(n % info.block_elements == 0, "quantize: {} elements do not fill the {}-element blocks of {}", n,
                info.block_elements, info.name);
  info.encode(in, out, n);
}

}  // namespace vkgraph
