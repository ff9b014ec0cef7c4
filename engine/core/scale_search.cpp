#include "engine/core/scale_search.h"

#include <algorithm>

namespace vkgraph::quant_search {
namespace {

// The codes of x for inverse scale `iscale` after subtracting `lo`, clamped to [0, nmax].
void affine_codes(const float* x, int n, int nmax, float iscale, float lo, uint8_t* q) {
  for (int i = 0; i < n; ++i) q[i] = uint8_t(std::clamp(nearest(iscale * (x[i] - lo)), 0, nmax));
}

float affine_error(const float* x, const float* w, int n, const uint8_t* q, float scale, float offset,
                   bool absolute_error) {
  float error = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float diff = scale * float(q[i]) + offset - x[i];
    error += w[i] * (absolute_error ? std::fabs(diff) : diff * diff);
  }
  return error;
}

}  // namespace

float fit_affine(const float* x, const float* w, int n, int nmax, const Grid& grid, bool absolute_error, uint8_t* q,
                 float* min) {
  float lo = x[0], hi = x[0], sum_w = 0.0f, sum_wx = 0.0f;
  for (int i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    sum_w += w[i];
    sum_wx += w[i] * x[i];
  }
  lo = std::min(lo, 0.0f);  // the offset only ever lowers the codes' zero
  if (hi == lo) {
    std::fill(q, q + n, uint8_t(0));
    *min = -lo;
    return 0.0f;
  }
  // The plain fit: the range [lo, hi] in nmax steps.
  const float iscale0 = float(nmax) / (hi - lo);
  float scale = 1.0f / iscale0, offset = lo;
  affine_codes(x, n, nmax, iscale0, lo, q);
  float best = affine_error(x, w, n, q, scale, offset, absolute_error);

  // Each candidate scale is tried from the best offset found so far: once a fit lowers the
  // offset below the smallest value, the later candidates place their codes from there.
  uint8_t trial[256];
  for (int s = 0; s <= grid.steps; ++s) {
    const float iscale = (grid.first + grid.step * float(s) + float(nmax)) / (hi - offset);
    affine_codes(x, n, nmax, iscale, offset, trial);
    // Weighted least squares for x ~ a * q + b over these codes.
    float sum_q = 0.0f, sum_q2 = 0.0f, sum_qx = 0.0f;
    for (int i = 0; i < n; ++i) {
      const float wq = w[i] * float(trial[i]);
      sum_q += wq;
      sum_q2 += wq * float(trial[i]);
      sum_qx += wq * x[i];
    }
    const float det = sum_w * sum_q2 - sum_q * sum_q;
    if (!(det > 0.0f)) continue;
    float a = (sum_w * sum_qx - sum_wx * sum_q) / det;
    float b = (sum_q2 * sum_wx - sum_q * sum_qx) / det;
    if (b > 0.0f) {  // an offset above zero is not representable: fit the scale alone
      b = 0.0f;
      a = sum_qx / sum_q2;
    }
    const float error = affine_error(x, w, n, trial, a, b, absolute_error);
    if (error < best) {
      best = error;
      scale = a;
      offset = b;
      std::copy(trial, trial + n, q);
    }
  }
  *min = -offset;
  return scale;
}

float fit_symmetric(const float* x, const float* w, int n, int nmax, int tries, int8_t* q) {
  float max = 0.0f, amax = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < kTiny) {
    std::fill(q, q + n, int8_t(nmax));  // code nmax is l = 0
    return 0.0f;
  }
  float best_scale = 0.0f, best_score = -1.0f;
  int8_t trial[256];
  // The plain scale first, then the others: a later one must do strictly better.
  for (int k = 0; k <= 2 * tries; ++k) {
    const int t = k == 0 ? 0 : (k <= tries ? k - tries - 1 : k - tries);
    const float iscale = -(float(nmax) + 0.1f * float(t)) / max;
    float sum_lx = 0.0f, sum_l2 = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest(iscale * x[i]), -nmax, nmax - 1);
      trial[i] = int8_t(l);
      sum_lx += w[i] * x[i] * float(l);
      sum_l2 += w[i] * float(l * l);
    }
    // The least-squares scale sum_lx / sum_l2 leaves an error of sum_wx2 - sum_lx^2 / sum_l2.
    if (!(sum_l2 > 0.0f)) continue;
    const float score = sum_lx * sum_lx / sum_l2;
    if (score > best_score) {
      best_score = score;
      best_scale = sum_lx / sum_l2;
      for (int i = 0; i < n; ++i) q[i] = int8_t(trial[i] + nmax);
    }
  }
  if (best_score < 0.0f) {  // every weight zero: the plain scale
    const float iscale = -float(nmax) / max;
    for (int i = 0; i < n; ++i) q[i] = int8_t(std::clamp(nearest(iscale * x[i]), -nmax, nmax - 1) + nmax);
    return 1.0f / iscale;
  }
  return best_scale;
}

float fit_symmetric_refined(const float* x, const float* w, int n, int nmax, int sweeps, int8_t* q) {
  fit_symmetric(x, w, n, nmax, 9, q);
  float sum_lx = 0.0f, sum_l2 = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float l = float(q[i] - nmax);
    sum_lx += w[i] * x[i] * l;
    sum_l2 += w[i] * l * l;
  }
  for (int sweep = 0; sweep < sweeps; ++sweep) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float l = float(q[i] - nmax);
      const float lx = sum_lx - w[i] * x[i] * l, l2 = sum_l2 - w[i] * l * l;
      if (!(lx > 0.0f) && !(lx < 0.0f)) continue;
      // With the others fixed, the best code for x[i] is x[i] / scale, scale = lx / l2 refitted.
      const int candidate = std::clamp(nearest(x[i] * l2 / lx), -nmax, nmax - 1);
      if (candidate == q[i] - nmax) continue;
      const float new_lx = lx + w[i] * x[i] * float(candidate);
      const float new_l2 = l2 + w[i] * float(candidate * candidate);
      // Keep the move when the fitted error sum_wx2 - lx^2 / l2 goes down.
      if (new_l2 > 0.0f && new_lx * new_lx * sum_l2 > sum_lx * sum_lx * new_l2) {
        q[i] = int8_t(candidate + nmax);
        sum_lx = new_lx;
        sum_l2 = new_l2;
        ++changed;
      }
    }
    if (changed == 0) break;
  }
  return sum_l2 > 0.0f ? sum_lx / sum_l2 : 0.0f;
}

}  // namespace vkgraph::quant_search
