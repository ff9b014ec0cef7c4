#include "engine/graph/passes.h"

namespace vkgraph::passes {
namespace {

// A byte range of one buffer: the arena, or the buffer/storage owned by a base node.
struct Region {
  bool arena = false;
  int32_t base = -1;  // owning node when not the arena
  size_t begin = 0;
  size_t end = 0;
};

Region region_of(const Location& loc) {
  Region r;
  r.arena = loc.placement == Placement::arena;
  r.base = r.arena ? -1 : loc.base.index;
  r.begin = loc.offset;
  r.end = loc.offset + loc.bytes;
  return r;
}

bool overlaps(const Region& a, const Region& b) {
  return a.arena == b.arena && a.base == b.base && a.begin < b.end && b.begin < a.end;
}

bool overlaps_any(const Region& r, const std::vector<Region>& set) {
  for (const Region& s : set) {
    if (overlaps(r, s)) return true;
  }
  return false;
}

}  // namespace

void place_barriers(const Graph& graph, const std::vector<Location>& locations, std::vector<Step>& steps) {
  // Reads and writes of the steps since the last barrier: those may still be in flight.
  std::vector<Region> reads, writes;
  for (Step& step : steps) {
    std::vector<Region> my_reads;
    for (TensorId r : step_reads(graph, step.node)) {
      const Node& n = graph.node(r);
      // Weights are never written during a run, so reading them needs no ordering.
      if (n.op == OpKind::leaf && n.kind == TensorKind::weight) continue;
      my_reads.push_back(region_of(locations[size_t(r.index)]));
    }
    const Region my_write = region_of(locations[size_t(step_write(graph, step.node).index)]);

    bool hazard = overlaps_any(my_write, reads) || overlaps_any(my_write, writes);  // WAR, WAW
    for (const Region& r : my_reads) hazard = hazard || overlaps_any(r, writes);    // RAW
    step.barrier_before = hazard;
    if (hazard) {
      reads.clear();
      writes.clear();
    }
    reads.insert(reads.end(), my_reads.begin(), my_reads.end());
    writes.push_back(my_write);
  }
}

}  // namespace vkgraph::passes
