// The last subgroup of a dispatch to finish, for the row kernels' epilogues that read every other
// subgroup's results (matmul/rows_norm.glsl, matmul/rows_rope.glsl): each subgroup counts its
// arrival with an atomic after its stores (release); the one that counts last sees every other's
// results (acquire) and resets the count to zero for the next run. Needs the result binding
// coherent and readable, and the kernel's control flow uniform up to the call.

// One counter of arrivals: the dispatch's own scratch word, zero before the first run.
layout(set = 0, binding = ARRIVAL_BINDING) coherent buffer ArrivalBuf { uint arrivals; };

// Called by every invocation of the `subgroups` subgroups that compute the result; true in the
// last subgroup to arrive, which then sees every result.
bool arrived_last(uint subgroups) {
  memoryBarrierBuffer();  // this invocation's results before the subgroup's arrival
  subgroupBarrier();
  uint arrived = 0;
  if (subgroupElect()) arrived = atomicAdd(arrivals, 1u);
  if (subgroupBroadcastFirst(arrived) != subgroups - 1) return false;
  memoryBarrierBuffer();  // every other subgroup's results, counted before this arrival
  if (subgroupElect()) arrivals = 0u;
  return true;
}
