#version 450
// dst = src over n 16-byte words: the copy that measures a device's memory bandwidth for the
// roofline of `vkgraph bench`. 16-byte loads and stores are the widest every device issues as
// one access; a grid-stride loop lets a capped dispatch cover any n. Workgroup size is
// specialization constant 0, n is a push constant.

layout(local_size_x_id = 0) in;

// The C++ side: ProbeCountPush in engine/backend/vulkan/push/probe.h (the build compares the two).
layout(push_constant) uniform Params {
  uint n;
} params;

layout(set = 0, binding = 0) readonly buffer Src { uvec4 src[]; };   // src: [n]
layout(set = 0, binding = 1) writeonly buffer Dst { uvec4 dst[]; };  // dst: [n]

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < params.n; i += stride) {
    dst[i] = src[i];
  }
}
