// A cairo drawing target that ends up in a file: PNG (image surface) or SVG
// (vector surface), both encoded in memory and written atomically.
#pragma once

#include <cairo.h>

#include <filesystem>
#include <functional>

namespace bpnet::plots {

struct Rgb {
  double r, g, b;
};

inline constexpr Rgb kTrainingBlue{0.12, 0.40, 0.80};
inline constexpr Rgb kValidationRed{0.85, 0.12, 0.12};
inline constexpr Rgb kInk{0.10, 0.10, 0.10};
inline constexpr Rgb kGrid{0.88, 0.88, 0.88};

void set_color(cairo_t* cr, Rgb c, double alpha = 1.0);

// Draws with `draw` on a width x height canvas (white background) and writes
// it as PNG to `png`, and as SVG to `svg` unless that path is empty.
void render(int width, int height, const std::function<void(cairo_t*)>& draw,
            const std::filesystem::path& png, const std::filesystem::path& svg = {});

// Text helpers; (x, y) is the anchor point, sizes in pixels.
enum class Align { left, center, right };
void text(cairo_t* cr, double x, double y, const std::string& s, double size, Align align,
          Rgb color = kInk, bool bold = false);
void vertical_text(cairo_t* cr, double x, double y, const std::string& s, double size);
// A centred bold title, its size reduced (down to 9 px) until it fits in `width`.
void title(cairo_t* cr, double x, double y, const std::string& s, double size, double width);

}  // namespace bpnet::plots
