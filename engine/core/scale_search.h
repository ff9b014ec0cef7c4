// Least-squares scale searches shared by the K-quant and IQ4 quantizers (codecs_k_encode.cpp,
// codecs_iq4.cpp). Rounding every value to the nearest code of a scale set from the extremes
// wastes codes on outliers; these try a small grid of scales around that one, fit the scale (and
// offset) that minimises the weighted error for the codes each gives, and keep the best.
#pragma once

#include <cmath>
#include <cstdint>

namespace vkgraph::quant_search {

// Round half to even, as the default floating-point environment does.
inline int nearest(float v) { return int(std::nearbyint(v)); }

// Blocks whose values are all below this in magnitude quantize to zero.
inline constexpr float kTiny = 1e-15f;

// The candidate inverse scales of a search: (nmax + first + step * i) / range for i = 0..steps.
struct Grid {
  float first;
  float step;
  int steps;
};

// x ~ scale * q - min with codes q in [0, nmax] and min >= 0 (a block's offset never moves its
// zero above its smallest value). w: per-value weights of the squared (or, with
// absolute_error, absolute) error. The candidates are (nmax + first + step * i) / (max - offset)
// with the best offset found so far. Writes the codes to q and returns the scale; *min gets the
// offset. A constant block of non-negative values gets scale 0 and min -lo, i.e. 0 when lo >= 0.
float fit_affine(const float* x, const float* w, int n, int nmax, const Grid& grid, bool absolute_error, uint8_t* q,
                 float* min);

// x ~ scale * l with l in [-nmax, nmax - 1], weights w of the squared error: the value of
// largest magnitude first maps to -nmax (using the extra negative code), then `tries` inverse
// scales either side of that, a tenth of a code apart, each with its least-squares scale. Writes
// l + nmax to q, returns the scale (0 for an all-zero block).
float fit_symmetric(const float* x, const float* w, int n, int nmax, int tries, int8_t* q);

// fit_symmetric followed by coordinate descent: each code in turn moves to where it lowers the
// weighted error with the scale refitted, until a sweep changes nothing (at most `sweeps`).
float fit_symmetric_refined(const float* x, const float* w, int n, int nmax, int sweeps, int8_t* q);

}  // namespace vkgraph::quant_search
