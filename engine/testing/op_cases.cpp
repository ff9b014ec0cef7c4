#include "engine/testing/op_cases.h"

#include <set>

#include "engine/core/error.h"
#include "engine/testing/case_families.h"

namespace vkgraph::testing {

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = [] {
    std::vector<OpCase> all;
    add_elementwise_cases(all);
    add_matmul_cases(all);
    add_low_rank_cases(all);
    add_add_norm_cases(all);
    add_cat_rope_cases(all);
    add_position_cases(all);
    add_attention_sweep_cases(all);
    add_paged_attention_cases(all);
    std::set<std::string> names;
    for (const OpCase& c : all) VKGRAPH_CHECK(names.insert(c.name).second, "op cases: '{}' is listed twice", c.name);
    return all;
  }();
  return cases;
}

}  // namespace vkgraph::testing
