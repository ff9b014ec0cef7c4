// Every push struct of the Vulkan lowering, for the build's check against the SPIR-V
// (shaders/tools/check_push_constants.cpp). A new struct is one line here.
#include "engine/backend/vulkan/push/attention.h"
#include "engine/backend/vulkan/push/elementwise.h"
#include "engine/backend/vulkan/push/layout.h"
#include "engine/backend/vulkan/push/matmul.h"
#include "engine/backend/vulkan/push/probe.h"
#include "engine/backend/vulkan/push/row_ops.h"

namespace vkgraph::vk {

const std::vector<PushLayout>& push_layouts() {
  static const std::vector<PushLayout> layouts = {
      PushStruct<MatmulPush>::layout(),
      PushStruct<MatmulAddPush>::layout(),
      PushStruct<MatmulAddNormPush>::layout(),
      PushStruct<MatmulGroupPush>::layout(),
      PushStruct<MatmulCatRopePush>::layout(),
      PushStruct<MatmulTailPush>::layout(),
      PushStruct<MatmulAddTailPush>::layout(),
      PushStruct<MatmulGroupTailPush>::layout(),
      PushStruct<AttentionPush>::layout(),
      PushStruct<AttentionSplitPush>::layout(),
      PushStruct<AttentionReducePush>::layout(),
      PushStruct<BinaryPush>::layout(),
      PushStruct<UnaryPush>::layout(),
      PushStruct<SwigluPush>::layout(),
      PushStruct<RopePush>::layout(),
      PushStruct<RopeKvPush>::layout(),
      PushStruct<GetRowsPush>::layout(),
      PushStruct<KvWritePush>::layout(),
      PushStruct<NormPush>::layout(),
      PushStruct<NormLowRankPush>::layout(),
      PushStruct<SoftmaxPush>::layout(),
      PushStruct<ArgmaxPush>::layout(),
      PushStruct<ProbeCountPush>::layout(),
      PushStruct<ProbeTilePush>::layout(),
      PushStruct<PagedAttentionPush>::layout(),
  };
  return layouts;
}

}  // namespace vkgraph::vk
