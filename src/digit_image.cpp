#include "bpnet/digit_image.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "bpnet/error.hpp"

namespace bpnet {
namespace {

// The median of the outer frame (5% of each side, at least one pixel).
double border_median(const GreyImage& image) {
  const std::size_t fr = std::max<std::size_t>(1, image.rows / 20), fc = std::max<std::size_t>(1, image.cols / 20);
  std::vector<std::uint8_t> frame;
  for (std::size_t r = 0; r < image.rows; ++r) {
    for (std::size_t c = 0; c < image.cols; ++c) {
      if (r < fr || r >= image.rows - fr || c < fc || c >= image.cols - fc) frame.push_back(image.pixels[r * image.cols + c]);
    }
  }
  std::nth_element(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(frame.size() / 2), frame.end());
  return frame[frame.size() / 2];
}

// The background under each pixel, where ink is darker (`ink_is_dark`) or
// lighter than it: per block of an 8x8 grid the 80th (or 20th) percentile,
// then the highest (or lowest) of each block's 3x3 neighbourhood, so that a
// block a thick stroke fills takes its neighbours' paper; interpolated
// bilinearly between block centres.
std::vector<float> background(const std::vector<float>& v, std::size_t rows, std::size_t cols, bool ink_is_dark) {
  const std::size_t grid = std::min<std::size_t>(8, std::min(rows, cols));
  std::vector<float> level(grid * grid);
  for (std::size_t by = 0; by < grid; ++by) {
    for (std::size_t bx = 0; bx < grid; ++bx) {
      std::vector<float> block;
      for (std::size_t r = by * rows / grid; r < (by + 1) * rows / grid; ++r) {
        for (std::size_t c = bx * cols / grid; c < (bx + 1) * cols / grid; ++c) block.push_back(v[r * cols + c]);
      }
      const std::size_t k = ink_is_dark ? block.size() * 4 / 5 : block.size() / 5;
      std::nth_element(block.begin(), block.begin() + static_cast<std::ptrdiff_t>(k), block.end());
      level[by * grid + bx] = block[k];
    }
  }
  std::vector<float> lowest(level);
  for (std::size_t by = 0; by < grid; ++by) {
    for (std::size_t bx = 0; bx < grid; ++bx) {
      for (std::size_t y = by > 0 ? by - 1 : 0; y <= std::min(by + 1, grid - 1); ++y) {
        for (std::size_t x = bx > 0 ? bx - 1 : 0; x <= std::min(bx + 1, grid - 1); ++x) {
          float& l = lowest[by * grid + bx];
          l = ink_is_dark ? std::max(l, level[y * grid + x]) : std::min(l, level[y * grid + x]);
        }
      }
    }
  }
  level = lowest;
  std::vector<float> out(rows * cols);
  const auto at = [&](double y, double x) {
    // Block centres are at ((i + 0.5) * size / grid); clamp outside them.
    const double gy = std::clamp(y * static_cast<double>(grid) / static_cast<double>(rows) - 0.5, 0.0, static_cast<double>(grid - 1));
    const double gx = std::clamp(x * static_cast<double>(grid) / static_cast<double>(cols) - 0.5, 0.0, static_cast<double>(grid - 1));
    const std::size_t y0 = static_cast<std::size_t>(gy), x0 = static_cast<std::size_t>(gx);
    const std::size_t y1 = std::min(y0 + 1, grid - 1), x1 = std::min(x0 + 1, grid - 1);
    const double fy = gy - static_cast<double>(y0), fx = gx - static_cast<double>(x0);
    return (1 - fy) * ((1 - fx) * level[y0 * grid + x0] + fx * level[y0 * grid + x1]) +
           fy * ((1 - fx) * level[y1 * grid + x0] + fx * level[y1 * grid + x1]);
  };
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) out[r * cols + c] = static_cast<float>(at(static_cast<double>(r) + 0.5, static_cast<double>(c) + 0.5));
  }
  return out;
}

// Resamples one axis: out[i] = mean of in over [i * n / m, (i + 1) * n / m).
std::vector<float> resample_axis(const std::vector<float>& in, std::size_t lines, std::size_t n, std::size_t m,
                                 bool along_rows) {
  std::vector<float> out(lines * m, 0.0f);
  const double scale = static_cast<double>(n) / static_cast<double>(m);
  for (std::size_t line = 0; line < lines; ++line) {
    for (std::size_t i = 0; i < m; ++i) {
      const double from = static_cast<double>(i) * scale, to = from + scale;
      double sum = 0;
      for (auto k = static_cast<std::size_t>(from); k < n && static_cast<double>(k) < to; ++k) {
        const double overlap = std::min(to, static_cast<double>(k + 1)) - std::max(from, static_cast<double>(k));
        sum += overlap * (along_rows ? in[k * lines + line] : in[line * n + k]);
      }
      (along_rows ? out[i * lines + line] : out[line * m + i]) = static_cast<float>(sum / scale);
    }
  }
  return out;
}

}  // namespace

std::vector<float> area_resample(const std::vector<float>& in, std::size_t in_rows, std::size_t in_cols,
                                 std::size_t out_rows, std::size_t out_cols) {
  const std::vector<float> wide = resample_axis(in, in_rows, in_cols, out_cols, false);  // (in_rows, out_cols)
  return resample_axis(wide, out_cols, in_rows, out_rows, true);                          // (out_rows, out_cols)
}

DigitImage mnist_style(const GreyImage& image, std::size_t rows, std::size_t cols, const std::string& name) {
  DigitImage out{rows, cols, std::vector<std::uint8_t>(rows * cols, 0), false};
  const std::size_t h = image.rows, w = image.cols;
  // 2. Ink light on dark.
  out.inverted = border_median(image) > 127;
  // 3. Background levelled. Paper reflects light, so a photo's brightness is
  // illumination times reflectance: dark ink is measured as the fraction of
  // its paper's light it absorbs, which uneven lighting does not change.
  // Light ink on a dark ground (a screen, MNIST itself) has the ground subtracted.
  std::vector<float> v(image.pixels.begin(), image.pixels.end());
  const std::vector<float> level = background(v, h, w, out.inverted);
  for (std::size_t i = 0; i < v.size(); ++i) {
    v[i] = out.inverted ? 255.0f * std::max(0.0f, 1.0f - v[i] / std::max(level[i], 1.0f)) : std::max(0.0f, v[i] - level[i]);
  }
  // Contrast stretched, faint texture cleared.
  std::vector<float> sorted(v);
  const auto p99 = sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() * 99 / 100);
  std::nth_element(sorted.begin(), p99, sorted.end());
  const float top = std::max(*p99, *std::max_element(v.begin(), v.end()) * 0.5f);
  if (!(top >= 24.0f)) throw DataError(name, "no digit found: the image is blank (no ink stands out from the background)");
  const float floor = top * 0.15f;
  std::size_t r0 = h, r1 = 0, c0 = w, c1 = 0;
  for (std::size_t r = 0; r < h; ++r) {
    for (std::size_t c = 0; c < w; ++c) {
      float& p = v[r * w + c];
      p = std::clamp((p - floor) / (top - floor), 0.0f, 1.0f) * 255.0f;
      if (p > 0) r0 = std::min(r0, r), r1 = std::max(r1, r + 1), c0 = std::min(c0, c), c1 = std::max(c1, c + 1);
    }
  }
  if (r0 >= r1) throw DataError(name, "no digit found: the image is blank");
  // 4. Crop and scale the longer side to 20/28 of the target.
  const std::size_t bh = r1 - r0, bw = c1 - c0;
  std::vector<float> crop(bh * bw);
  for (std::size_t r = 0; r < bh; ++r) {
    std::copy_n(v.begin() + static_cast<std::ptrdiff_t>((r0 + r) * w + c0), bw, crop.begin() + static_cast<std::ptrdiff_t>(r * bw));
  }
  const double box = 20.0 / 28.0 * static_cast<double>(std::min(rows, cols));
  const double scale = box / static_cast<double>(std::max(bh, bw));
  const std::size_t sh = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(static_cast<double>(bh) * scale)));
  const std::size_t sw = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(static_cast<double>(bw) * scale)));
  const std::vector<float> digit = area_resample(crop, bh, bw, sh, sw);
  // 5. Centre of mass to the centre: MNIST's, in pixel indices, is (14, 14)
  // of 28 (measured over its test set: 13.99, 14.00).
  double mass = 0, my = 0, mx = 0;
  for (std::size_t r = 0; r < sh; ++r) {
    for (std::size_t c = 0; c < sw; ++c) {
      const double m = digit[r * sw + c];
      mass += m, my += m * static_cast<double>(r), mx += m * static_cast<double>(c);
    }
  }
  const long dy = std::lround(static_cast<double>(rows) / 2 - my / mass);
  const long dx = std::lround(static_cast<double>(cols) / 2 - mx / mass);
  for (std::size_t r = 0; r < sh; ++r) {
    for (std::size_t c = 0; c < sw; ++c) {
      const long y = static_cast<long>(r) + dy, x = static_cast<long>(c) + dx;
      if (y < 0 || x < 0 || y >= static_cast<long>(rows) || x >= static_cast<long>(cols)) continue;
      out.pixels[static_cast<std::size_t>(y) * cols + static_cast<std::size_t>(x)] =
          static_cast<std::uint8_t>(std::lround(std::clamp(digit[r * sw + c], 0.0f, 255.0f)));
    }
  }
  return out;
}

}  // namespace bpnet
