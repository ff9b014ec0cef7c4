// The RMS norm's kernel rows: on a CPU-class device a workgroup of one subgroup that sums with
// subgroupAdd (no barrier), elsewhere the portable shared-memory reduction. This device chooses
// the first; both run here, on every norm case, against the CPU reference.

#include <catch2/catch_test_macros.hpp>

#include <tuple>

#include "engine/backend/vulkan/kernel_table.h"
#include "tests/forced_rows.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

TEST_CASE("rms_norm: the one-subgroup row and the portable row pass the norm cases on this device, forced",
          "[vulkan][norm]") {
  test::ValidationGuard guard;
  for (const auto& [op, subgroup, portable] :
       {std::tuple{"rms_norm", "norm/rms_norm_subgroup_f32", "norm/rms_norm_f32"},
        std::tuple{"rms_norm_mul", "norm/rms_norm_mul_subgroup_f32", "norm/rms_norm_mul_f32"}}) {
    INFO(op);
    const auto subgroup_rows = vk::find_kernel_rows(subgroup);
    REQUIRE(subgroup_rows.size() == 1);
    CHECK(subgroup_rows[0]->when == vk::RowWhen::cpu);
    CHECK(subgroup_rows[0]->workgroup_size == 8);
    // Every case of the op through each row: rows of 1 to 4096 values, 1 to 33 rows.
    CHECK(test::check_forced_row_cases(subgroup, op) >= 6);
    CHECK(test::check_forced_row_cases(portable, op) >= 6);
  }
}
