// A line chart panel: frame, "nice" ticks with labels, grid, axis labels,
// title, lines and a legend. Enough for training curves; nothing more.
#pragma once

#include <string>
#include <vector>

#include "canvas.hpp"

namespace bpnet::plots {

struct Line {
  std::string label;
  std::vector<double> x, y;
  Rgb color;
  bool dashed = false;
};

struct Panel {
  double left, top, width, height;  // the whole panel, labels included, in pixels
  std::string title, x_label, y_label;
  bool legend_at_bottom = false;  // rising curves (accuracy) leave the bottom free
  bool log_x = false, log_y = false;  // logarithmic axes; values <= 0 leave gaps
};

// Tick positions covering [low, high] at 1, 2 or 5 times a power of ten.
std::vector<double> nice_ticks(double low, double high, int target_count);

// Draws the panel with its lines scaled to fit; the y range grows to the
// outermost ticks. `integer_x` labels x ticks as integers (epochs).
void draw_line_chart(cairo_t* cr, const Panel& panel, const std::vector<Line>& lines, bool integer_x);

}  // namespace bpnet::plots
