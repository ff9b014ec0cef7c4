// Every kernel's workgroup is one-dimensional with its size in specialization constant 0.
// Declared here, before any function that reads gl_WorkGroupSize: glslang folds
// gl_WorkGroupSize to the default (1, 1, 1) in code parsed before this declaration.
layout(local_size_x_id = 0) in;

// Flattened indices over a grid split into x and y, because maxComputeWorkGroupCount[0] may be
// as low as 65535 (the Vulkan minimum). The host dispatches x = min(n, 65535), y = ceil(n / x);
// groups past n return at once (uniformly for the whole workgroup, so no barrier is skipped by
// part of it).
uint group_index() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

// For one-thread-per-element kernels: a grid-stride loop starts here and advances by
// global_stride(), so any element count works with a capped group count.
uint global_index() { return group_index() * gl_WorkGroupSize.x + gl_LocalInvocationID.x; }
uint global_stride() { return gl_NumWorkGroups.x * gl_NumWorkGroups.y * gl_WorkGroupSize.x; }

// The largest workgroup any kernel is launched with (the kernel table's rows stay at or under
// it). Shared arrays with one entry per invocation are sized by it, not by gl_WorkGroupSize.x:
// glslang folds gl_WorkGroupSize in an array size to the default local size (1) before
// specialization, so such an array would hold one element whatever the pipeline's size.
#define MAX_WORKGROUP 256
