#include "canvas.hpp"

#include <cairo-svg.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include <memory>
#include <string>
#include <vector>

#include "bpnet/atomic_file.hpp"
#include "bpnet/error.hpp"

namespace bpnet::plots {
namespace {

cairo_status_t append_to_vector(void* closure, const unsigned char* data, unsigned int length) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(closure);
  out->insert(out->end(), data, data + length);
  return CAIRO_STATUS_SUCCESS;
}

using Surface = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;
using Context = std::unique_ptr<cairo_t, decltype(&cairo_destroy)>;

void paint(cairo_surface_t* surface, const std::function<void(cairo_t*)>& draw,
           const std::filesystem::path& path) {
  Context cr(cairo_create(surface), cairo_destroy);
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());
  draw(cr.get());
  if (cairo_status(cr.get()) != CAIRO_STATUS_SUCCESS) {
    throw WriteError(path.string(), cairo_status_to_string(cairo_status(cr.get())));
  }
}

}  // namespace

void set_color(cairo_t* cr, Rgb c, double alpha) { cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha); }

void render(int width, int height, const std::function<void(cairo_t*)>& draw,
            const std::filesystem::path& png, const std::filesystem::path& svg) {
  {
    Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height),
                    cairo_surface_destroy);
    paint(surface.get(), draw, png);
    std::vector<std::uint8_t> bytes;
    if (cairo_surface_write_to_png_stream(surface.get(), append_to_vector, &bytes) !=
        CAIRO_STATUS_SUCCESS) {
      throw WriteError(png.string(), "PNG encoding failed");
    }
    write_file_atomically(png, bytes);
  }
  if (!svg.empty()) {
    std::vector<std::uint8_t> bytes;
    {
      Surface surface(cairo_svg_surface_create_for_stream(append_to_vector, &bytes, width, height),
                      cairo_surface_destroy);
      paint(surface.get(), draw, svg);
      cairo_surface_finish(surface.get());  // flushes the SVG into `bytes`
    }
    write_file_atomically(svg, bytes);
  }
}

void text(cairo_t* cr, double x, double y, const std::string& s, double size, Align align, Rgb color,
          bool bold) {
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t extents;
  cairo_text_extents(cr, s.c_str(), &extents);
  double left = x - extents.x_bearing;
  if (align == Align::center) left = x - extents.width / 2 - extents.x_bearing;
  if (align == Align::right) left = x - extents.width - extents.x_bearing;
  // y is the vertical middle of the text.
  cairo_move_to(cr, left, y - extents.height / 2 - extents.y_bearing);
  set_color(cr, color);
  cairo_show_text(cr, s.c_str());
}

namespace {

// The largest size in [9, size] at which `s` fits in `width` (9 if none does).
double fitting_size(cairo_t* cr, const std::string& s, double size, double width) {
  for (; size > 9; size -= 0.5) {
    cairo_set_font_size(cr, size);
    cairo_text_extents_t extents;
    cairo_text_extents(cr, s.c_str(), &extents);
    if (extents.width <= width) break;
  }
  return size;
}

}  // namespace

void title(cairo_t* cr, double x, double y, const std::string& s, double size, double width) {
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  const double one_line = fitting_size(cr, s, size, width);
  // A long recipe breaks into two lines, at the separator nearest the
  // middle, rather than shrink past reading or run off the picture.
  std::size_t cut = std::string::npos;
  for (std::size_t at = s.find(' '); at != std::string::npos; at = s.find(' ', at + 1)) {
    const bool separator = at > 0 && (s[at - 1] == ',' || s[at - 1] == ':' || (at + 1 < s.size() && s[at + 1] == '|'));
    if (!separator) continue;
    if (cut == std::string::npos || std::abs(static_cast<double>(at) - static_cast<double>(s.size()) / 2) <
                                        std::abs(static_cast<double>(cut) - static_cast<double>(s.size()) / 2)) {
      cut = at;
    }
  }
  if (one_line >= 11 || cut == std::string::npos) {
    text(cr, x, y, s, one_line, Align::center, kInk, true);
    return;
  }
  const std::string first = s.substr(0, cut), second = s.substr(cut + 1);
  const double two_lines =
      std::min(fitting_size(cr, first, size * 0.8, width), fitting_size(cr, second, size * 0.8, width));
  text(cr, x, y - 0.6 * two_lines, first, two_lines, Align::center, kInk, true);
  text(cr, x, y + 0.6 * two_lines, second, two_lines, Align::center, kInk, true);
}

void vertical_text(cairo_t* cr, double x, double y, const std::string& s, double size) {
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, -std::numbers::pi / 2);
  text(cr, 0, 0, s, size, Align::center);
  cairo_restore(cr);
}

}  // namespace bpnet::plots
