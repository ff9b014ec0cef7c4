#version 450
// c = a + b over n floats. Workgroup size is specialization constant 0; n is a push constant.
// A grid-stride loop covers n larger than the dispatch (the workgroup count limit is 65535 on
// many devices), and the bound check covers n not a multiple of the workgroup size.

layout(local_size_x_id = 0) in;

// The C++ side: ProbeCountPush in engine/backend/vulkan/push/probe.h (the build compares the two).
layout(push_constant) uniform Params {
  uint n;
} params;

layout(set = 0, binding = 0) readonly buffer A { float a[]; };   // a: [n]
layout(set = 0, binding = 1) readonly buffer B { float b[]; };   // b: [n]
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };  // c: [n]

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < params.n; i += stride) {
    c[i] = a[i] + b[i];
  }
}
