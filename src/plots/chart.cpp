#include "chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace bpnet::plots {
namespace {

// Margins inside a panel for tick labels, axis labels and the title.
constexpr double kMarginLeft = 84, kMarginRight = 20, kMarginTop = 40, kMarginBottom = 55;
// Markers are drawn whole even at the frame: the clip reaches this far out.
constexpr double kMarkerRoom = 5;

// Ticks are at most this many: a hostile history cannot make a chart slow.
constexpr double kMaxTicks = 24;

std::string tick_label(double value, double step, bool integer) {
  // Very large or very fine numbers in short scientific form, so that a
  // label never runs off the image.
  const double magnitude = std::max(std::abs(value), std::abs(step));
  if (magnitude >= 1e6 || (step > 0 && step < 1e-4)) return fmt::format("{:.4g}", value);
  if (integer) return fmt::format("{}", static_cast<long long>(std::llround(value)));
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return fmt::format("{:.{}f}", value, decimals);
}

// Ticks of a logarithmic axis, in log10 units: the decades, or nice ticks
// within one decade when the data spans less.
std::vector<double> log_ticks(double low, double high) {
  const double first = std::floor(low), last = std::ceil(high);
  if (!std::isfinite(first) || !std::isfinite(last) || last - first < 2) return nice_ticks(low, high, 5);
  const double stride = std::ceil((last - first) / 8);  // at most about 8 labels
  std::vector<double> ticks;
  for (double t = first; t <= last; t += stride) ticks.push_back(t);
  if (ticks.back() < high) ticks.push_back(ticks.back() + stride);
  return ticks;
}

std::string log_tick_label(double exponent) { return fmt::format("{:g}", std::pow(10.0, exponent)); }

// The lines with log10 applied where an axis is logarithmic.
std::vector<Line> to_log_scale(const std::vector<Line>& lines, bool log_x, bool log_y) {
  std::vector<Line> out = lines;
  const auto scale = [](std::vector<double>& values) {
    for (double& v : values) v = v > 0 ? std::log10(v) : std::numeric_limits<double>::quiet_NaN();
  };
  for (Line& line : out) {
    if (log_x) scale(line.x);
    if (log_y) scale(line.y);
  }
  return out;
}

}  // namespace

std::vector<double> nice_ticks(double low, double high, int target_count) {
  constexpr double kLargest = std::numeric_limits<double>::max() / 4;
  if (!std::isfinite(low) || !std::isfinite(high)) return {0.0, 1.0};
  low = std::clamp(low, -kLargest, kLargest);  // keeps high - low finite
  high = std::clamp(high, -kLargest, kLargest);
  if (!(high > low)) {
    const double pad = std::abs(low) > 0 ? std::abs(low) * 0.1 : 1.0;
    low -= pad;
    high += pad;
  }
  const double raw = (high - low) / std::max(1, target_count);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double factor : {1.0, 2.0, 5.0, 10.0}) {
    step = factor * magnitude;
    if (step >= raw) break;
  }
  // Ticks are whole multiples of the step, counted as integers rather than
  // summed: near 1e17 adding a step of 10 changes nothing, and a summed
  // loop never ends. When doubles cannot tell the ticks apart, the ends do.
  const double first = std::floor(low / step), last = std::ceil(high / step);
  if (!(last - first <= kMaxTicks) || first * step + step == first * step) return {low, high};
  std::vector<double> ticks;
  for (double n = first; n <= last; ++n) ticks.push_back(n == 0 ? 0.0 : n * step);
  return ticks;
}

void draw_line_chart(cairo_t* cr, const Panel& panel, const std::vector<Line>& given_lines, bool integer_x) {
  const std::vector<Line> lines = to_log_scale(given_lines, panel.log_x, panel.log_y);
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  double y_min = x_min, y_max = -x_min;
  // Non-finite points (a diverged run) are left out: the line has a gap there.
  for (const Line& line : lines) {
    for (std::size_t i = 0; i < line.x.size(); ++i) {
      if (!std::isfinite(line.x[i]) || !std::isfinite(line.y[i])) continue;
      x_min = std::min(x_min, line.x[i]), x_max = std::max(x_max, line.x[i]);
      y_min = std::min(y_min, line.y[i]), y_max = std::max(y_max, line.y[i]);
    }
  }
  if (!std::isfinite(x_min)) x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  const std::vector<double> y_ticks = panel.log_y ? log_ticks(y_min, y_max) : nice_ticks(y_min, y_max, 6);
  std::vector<double> x_ticks = panel.log_x ? log_ticks(x_min, x_max) : nice_ticks(x_min, x_max, 8);
  if (integer_x) {
    x_ticks.erase(std::remove_if(x_ticks.begin(), x_ticks.end(),
                                 [&](double t) { return t != std::floor(t) || t < x_min || t > x_max; }),
                  x_ticks.end());
    // The last epoch always gets its tick; a regular tick too close to it goes.
    const double spacing = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1;
    while (!x_ticks.empty() && x_max - x_ticks.back() < spacing / 2 && x_ticks.back() != x_max) x_ticks.pop_back();
    if (x_ticks.empty() || x_ticks.back() != x_max) x_ticks.push_back(x_max);
  }
  y_min = y_ticks.front();
  y_max = y_ticks.back();
  if (panel.log_x) {  // whole decades at both ends
    x_min = x_ticks.front();
    x_max = x_ticks.back();
  }
  // Half a step of room at each end, so a single epoch sits in the middle
  // and the first and last markers are whole.
  const double x_pad = x_max == x_min ? 0.5 : (x_max - x_min) * 0.02;
  x_min -= x_pad;
  x_max += x_pad;

  const double px = panel.left + kMarginLeft, py = panel.top + kMarginTop;
  const double pw = panel.width - kMarginLeft - kMarginRight;
  const double ph = panel.height - kMarginTop - kMarginBottom;
  auto sx = [&](double x) { return px + (x - x_min) / (x_max - x_min) * pw; };
  auto sy = [&](double y) { return py + ph - (y - y_min) / (y_max - y_min) * ph; };

  // Grid and ticks.
  cairo_set_line_width(cr, 1);
  for (double t : y_ticks) {
    set_color(cr, kGrid);
    cairo_move_to(cr, px, std::round(sy(t)) + 0.5);
    cairo_line_to(cr, px + pw, std::round(sy(t)) + 0.5);
    cairo_stroke(cr);
    text(cr, px - 8, sy(t),
         panel.log_y ? log_tick_label(t) : tick_label(t, y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1, false), 12,
         Align::right);
  }
  for (double t : x_ticks) {
    if (t < x_min - 1e-9 || t > x_max + 1e-9) continue;
    set_color(cr, kInk);
    cairo_move_to(cr, std::round(sx(t)) + 0.5, py + ph);
    cairo_line_to(cr, std::round(sx(t)) + 0.5, py + ph + 5);
    cairo_stroke(cr);
    text(cr, sx(t), py + ph + 16, panel.log_x ? log_tick_label(t) : tick_label(t, 1, integer_x), 12, Align::center);
  }
  set_color(cr, kInk);
  cairo_rectangle(cr, px + 0.5, py + 0.5, pw, ph);
  cairo_stroke(cr);

  // Lines, clipped to the plot area.
  cairo_save(cr);
  cairo_rectangle(cr, px - kMarkerRoom, py - kMarkerRoom, pw + 2 * kMarkerRoom, ph + 2 * kMarkerRoom);
  cairo_clip(cr);
  for (const Line& line : lines) {
    set_color(cr, line.color);
    cairo_set_line_width(cr, 2.5);
    const double dash[] = {8, 5};
    cairo_set_dash(cr, dash, line.dashed ? 2 : 0, 0);
    bool drawing = false;
    for (std::size_t i = 0; i < line.x.size(); ++i) {
      const bool finite = std::isfinite(line.x[i]) && std::isfinite(line.y[i]);
      if (finite && drawing) cairo_line_to(cr, sx(line.x[i]), sy(line.y[i]));
      if (finite && !drawing) cairo_move_to(cr, sx(line.x[i]), sy(line.y[i]));
      drawing = finite;
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
    if (line.x.size() <= 20 && !line.dashed) {  // markers while they stay readable
      for (std::size_t i = 0; i < line.x.size(); ++i) {
        if (!std::isfinite(line.x[i]) || !std::isfinite(line.y[i])) continue;
        cairo_new_sub_path(cr);
        cairo_arc(cr, sx(line.x[i]), sy(line.y[i]), 3.5, 0, 2 * std::numbers::pi);
        cairo_fill(cr);
      }
    }
  }
  cairo_restore(cr);

  // Labels and title.
  text(cr, px + pw / 2, panel.top + 18, panel.title, 16, Align::center, kInk, true);
  text(cr, px + pw / 2, py + ph + 40, panel.x_label, 13, Align::center);
  vertical_text(cr, panel.left + 14, py + ph / 2, panel.y_label, 13);

  // Legend, top right inside the plot, on a white box.
  const double row = 20;
  double widest = 0;
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 12);
  for (const Line& line : lines) {
    cairo_text_extents_t extents;
    cairo_text_extents(cr, line.label.c_str(), &extents);
    widest = std::max(widest, extents.x_advance);
  }
  const double box_w = 58 + widest;
  const double box_h = row * static_cast<double>(lines.size()) + 10;
  const double bx = px + pw - box_w - 10;
  const double by = panel.legend_at_bottom ? py + ph - box_h - 10 : py + 10;
  cairo_rectangle(cr, bx, by, box_w, box_h);
  set_color(cr, {1, 1, 1}, 0.9);
  cairo_fill_preserve(cr);
  set_color(cr, kGrid);
  cairo_set_line_width(cr, 1);
  cairo_stroke(cr);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const double y = by + 15 + row * static_cast<double>(i);
    set_color(cr, lines[i].color);
    cairo_set_line_width(cr, 2.5);
    const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, lines[i].dashed ? 2 : 0, 0);
    cairo_move_to(cr, bx + 10, y);
    cairo_line_to(cr, bx + 40, y);
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
    text(cr, bx + 48, y, lines[i].label, 12, Align::left);
  }
}

}  // namespace bpnet::plots
