// Workgroup reductions through shared memory. Portable: no subgroup operations, which some
// drivers report without arithmetic support. The workgroup size (local_size_x_id = 0) must be a
// power of two and at most MAX_WORKGROUP; the kernel table's rows guarantee both. Every
// invocation of the workgroup must call these in uniform control flow (they contain barriers).
// (MAX_WORKGROUP: see grid.glsl.)
shared float reduce_scratch[MAX_WORKGROUP];

float workgroup_sum(float v) {
  const uint t = gl_LocalInvocationID.x;
  reduce_scratch[t] = v;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
    if (t < s) reduce_scratch[t] += reduce_scratch[t + s];
    barrier();
  }
  const float r = reduce_scratch[0];
  barrier();  // the next reduction may overwrite the scratch
  return r;
}

float workgroup_max(float v) {
  const uint t = gl_LocalInvocationID.x;
  reduce_scratch[t] = v;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
    if (t < s) reduce_scratch[t] = max(reduce_scratch[t], reduce_scratch[t + s]);
    barrier();
  }
  const float r = reduce_scratch[0];
  barrier();
  return r;
}
