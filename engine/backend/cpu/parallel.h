#pragma once
// A minimal parallel loop for the heavy CPU reference ops (matmul, attention). Plain threads,
// split into contiguous chunks; small loops run on the calling thread.

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace vkgraph::cpu {

// Calls fn(begin, end) over [0, count) in chunks; `work_per_item` (rough multiply-adds) decides
// whether starting threads is worth it (about 100k operations per extra thread).
template <typename Fn>
void parallel_for(size_t count, size_t work_per_item, const Fn& fn) {
  const size_t hw = std::max<size_t>(1, std::thread::hardware_concurrency());
  const size_t by_work = std::max<size_t>(1, count * work_per_item / 100000);
  const size_t n_threads = std::min({hw, count, by_work});
  if (n_threads <= 1) {
    fn(size_t(0), count);
    return;
  }
  std::vector<std::thread> threads;
  const size_t chunk = (count + n_threads - 1) / n_threads;
  for (size_t t = 1; t < n_threads; ++t) {
    const size_t begin = std::min(count, t * chunk);
    const size_t end = std::min(count, begin + chunk);
    threads.emplace_back([&fn, begin, end] { fn(begin, end); });
  }
  fn(size_t(0), std::min(count, chunk));
  for (std::thread& th : threads) th.join();
}

}  // namespace vkgraph::cpu
