#include "bpnet/augment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "bpnet/error.hpp"
#include "kernels/gaussian_blur.hpp"
#include "simd.hpp"

namespace bpnet {

std::string_view name(AugmentKind kind) {
  switch (kind) {
    case AugmentKind::none: return "none";
    case AugmentKind::affine: return "affine";
    case AugmentKind::elastic: return "elastic";
    case AugmentKind::both: return "both";
  }
  return "?";
}

AugmentKind parse_augment(std::string_view text) {
  for (const AugmentKind kind : {AugmentKind::none, AugmentKind::affine, AugmentKind::elastic, AugmentKind::both}) {
    if (text == name(kind)) return kind;
  }
  throw ConfigError(fmt::format("--augment must be none, affine, elastic or both (got '{}')", text));
}

namespace {

void check_range(const char* flag, double value, double low, double high) {
  if (!(value >= low && value <= high)) {
    throw ConfigError(fmt::format("{} must be in [{}, {}] (got {})", flag, low, high, value));
  }
}

constexpr double kRadiansPerDegree = std::numbers::pi / 180;
// Stream positions: the affine draws first, then the two noise fields.
constexpr std::uint64_t kAffineDraws = 6;
// "augment" in ASCII: keeps these streams apart from dropout's (seed, step, layer).
constexpr std::uint64_t kStreamTag = 0x61756775'6d656e74ULL;

}  // namespace

void AugmentOptions::validate() const {
  check_range("--rotate", rotate, 0, 180);
  check_range("--scale", scale, 0, 0.5);
  check_range("--shear", shear, 0, 60);
  check_range("--translate", translate, 0, 10);
  check_range("--elastic-sigma", elastic_sigma, 0.5, 20);
  check_range("--elastic-alpha", elastic_alpha, 0, 300);
}

std::string describe(const AugmentOptions& o) {
  std::string text;
  if (o.affine()) {
    text = fmt::format("affine rotate {} scale {} shear {}", o.rotate, o.scale, o.shear);
    if (o.translate > 0) text += fmt::format(" translate {}", o.translate);
  }
  if (o.elastic()) {
    text += fmt::format("{}elastic sigma {} alpha {}", text.empty() ? "" : " + ", o.elastic_sigma, o.elastic_alpha);
  }
  return text.empty() ? "no distortions" : text;
}

Distorter::Distorter(const AugmentOptions& options, std::size_t rows, std::size_t cols)
    : options_(options), rows_(rows), cols_(cols) {
  options.validate();
  if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096) {
    throw ConfigError(fmt::format("distortions take images of 1 to 4096 pixels a side (got {}x{})", rows, cols));
  }
  kernel_ = gaussian_kernel(options.elastic_sigma, std::max(rows, cols));
  const std::size_t n = rows * cols;
  noise_.resize(n);
  dx_.resize(n);
  dy_.resize(n);
  scratch_.resize(blur_scratch_size(rows, cols, kernel_.size()));
  padded_.assign((rows + 4) * (cols + 4), 0.0f);
  source_u_.resize(cols);
  zeros_.assign(cols, 0.0f);
}

RandomStream Distorter::stream(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) {
  return RandomStream(seed ^ kStreamTag, epoch, index);
}

namespace {

// Uniform in [-1, 1) from position i of the stream.
double symmetric(const RandomStream& stream, std::uint64_t i) { return 2.0 * stream.uniform01f(i) - 1.0; }

}  // namespace

AffineParams Distorter::draw_affine(const RandomStream& s) const {
  const AugmentOptions& o = options_;
  return {.rotate_degrees = o.rotate * symmetric(s, 0),
          .scale_x = 1 + o.scale * symmetric(s, 1),
          .scale_y = 1 + o.scale * symmetric(s, 2),
          .shear_degrees = o.shear * symmetric(s, 3),
          .shift_x = o.translate * symmetric(s, 4),
          .shift_y = o.translate * symmetric(s, 5)};
}

void Distorter::draw_displacement(const RandomStream& s, float* dx, float* dy) {
  const std::size_t n = rows_ * cols_;
  const auto alpha = static_cast<float>(options_.elastic_alpha);
  for (float* field : {dx, dy}) {
    const std::uint64_t first = kAffineDraws + (field == dx ? 0 : (n + 1) / 2);
    // Two 24-bit values from each 64-bit draw: the field needs no more.
    for (std::size_t i = 0; i < n; i += 2) {
      const std::uint64_t bits = s.bits(first + i / 2);
      noise_[i] = static_cast<float>(bits >> 40) * 0x1.0p-23f - 1.0f;
      if (i + 1 < n) noise_[i + 1] = static_cast<float>((bits >> 8) & 0xffffffu) * 0x1.0p-23f - 1.0f;
    }
    blur_separable(noise_.data(), rows_, cols_, kernel_, scratch_.data(), field);
    for (std::size_t i = 0; i < n; ++i) field[i] *= alpha;
  }
}

namespace {

// The inverse of the affine map as a 2x2 matrix (row-major): where, relative
// to the centre, an output point's content comes from.
std::array<double, 4> inverse_matrix(const AffineParams& p) {
  const double t = p.rotate_degrees * kRadiansPerDegree;
  const double c = std::cos(t), s = std::sin(t), h = std::tan(p.shear_degrees * kRadiansPerDegree);
  // Forward F = R H S with, y pointing down, R = [c s; -s c] (counter-clockwise
  // on screen), H = [1 h; 0 1], S = diag(sx, sy). Inverse = S^-1 H^-1 R^-1,
  // R^-1 = [c -s; s c], H^-1 = [1 -h; 0 1].
  const double a = c - h * s, b = -s - h * c;  // first row of H^-1 R^-1
  return {a / p.scale_x, b / p.scale_x, s / p.scale_y, c / p.scale_y};
}

// The inverse affine map as floats, about the centre.
struct InverseMap {
  float m00, m01, m10, m11;  // the matrix
  float cx, cy;              // the centre
};

// One output row: out[c] = image sampled bilinearly at
// M ((u[c] + dx[c], v + dy[c])) + centre, the image held in a frame of two
// zero pixels (padded stride = cols + 4). Coordinates beyond the frame are
// clamped onto it, where every tap is zero, so there is no branch; 32-bit
// indices (images are at most 4096 a side) let the gathers vectorise.
BPNET_VECTOR_LOOP void sample_row(const float* padded, std::size_t rows, std::size_t cols, const InverseMap& m,
                                  const float* u, float v, const float* dx, const float* dy, float* out) {
  const auto stride = static_cast<std::int32_t>(cols + 4);
  const float max_x = static_cast<float>(cols) + 0.5f, max_y = static_cast<float>(rows) + 0.5f;
  for (std::size_t c = 0; c < cols; ++c) {
    const float pu = u[c] + dx[c], pv = v + dy[c];
    const float x = m.m00 * pu + m.m01 * pv + m.cx, y = m.m10 * pu + m.m11 * pv + m.cy;
    const float sx = std::min(std::max(x, -1.5f), max_x), sy = std::min(std::max(y, -1.5f), max_y);
    const float fx0 = std::floor(sx), fy0 = std::floor(sy);
    const float fx = sx - fx0, fy = sy - fy0;
    const std::int32_t at = static_cast<std::int32_t>(fy0 + 2) * stride + static_cast<std::int32_t>(fx0 + 2);
    const float top = padded[at] + fx * (padded[at + 1] - padded[at]);
    const float bottom = padded[at + stride] + fx * (padded[at + stride + 1] - padded[at + stride]);
    out[c] = top + fy * (bottom - top);
  }
}

}  // namespace

void Distorter::warp(const std::uint8_t* image, const AffineParams* affine, const float* dx, const float* dy,
                     float* out) {
  const std::size_t stride = cols_ + 4;
  for (std::size_t r = 0; r < rows_; ++r) {
    std::copy_n(image + r * cols_, cols_, padded_.begin() + static_cast<std::ptrdiff_t>((r + 2) * stride + 2));
  }
  const std::array<double, 4> m = affine ? inverse_matrix(*affine) : std::array<double, 4>{1, 0, 0, 1};
  const double shift_x = affine ? affine->shift_x : 0, shift_y = affine ? affine->shift_y : 0;
  const double cx = (static_cast<double>(cols_) - 1) / 2, cy = (static_cast<double>(rows_) - 1) / 2;
  const InverseMap map{static_cast<float>(m[0]), static_cast<float>(m[1]), static_cast<float>(m[2]),
                       static_cast<float>(m[3]), static_cast<float>(cx),   static_cast<float>(cy)};
  // Relative to the centre, before the shift: whole-pixel shifts stay exact.
  for (std::size_t c = 0; c < cols_; ++c) source_u_[c] = static_cast<float>(static_cast<double>(c) - cx - shift_x);
  for (std::size_t r = 0; r < rows_; ++r) {
    const auto v = static_cast<float>(static_cast<double>(r) - cy - shift_y);
    const std::size_t at = r * cols_;
    sample_row(padded_.data(), rows_, cols_, map, source_u_.data(), v, dx ? dx + at : zeros_.data(),
               dy ? dy + at : zeros_.data(), out + at);
  }
}

void Distorter::distort(const std::uint8_t* image, std::uint64_t seed, std::uint64_t epoch, std::uint64_t index,
                        float* out) {
  const RandomStream s = stream(seed, epoch, index);
  AffineParams affine;
  if (options_.affine()) affine = draw_affine(s);
  const bool elastic = options_.elastic();
  if (elastic) draw_displacement(s, dx_.data(), dy_.data());
  warp(image, options_.affine() ? &affine : nullptr, elastic ? dx_.data() : nullptr, elastic ? dy_.data() : nullptr,
       out);
}

}  // namespace bpnet
