// The pictures bpnet makes (plots.hpp), composed from canvas and chart.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "bpnet/error.hpp"
#include "bpnet/plots.hpp"
#include "canvas.hpp"
#include "chart.hpp"

namespace bpnet {

using plots::Align;
using plots::Line;
using plots::Panel;
using plots::Rgb;

namespace {

// One colour per run in comparison charts (colour-blind-safe Tableau set).
constexpr Rgb kRunColors[] = {{0.12, 0.47, 0.71}, {0.84, 0.15, 0.16}, {0.17, 0.63, 0.17},
                              {1.00, 0.50, 0.05}, {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29},
                              {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50}};

template <typename Get>
Line series(const std::vector<EpochRecord>& history, std::string label, Rgb color, bool dashed,
            Get get) {
  Line line{std::move(label), {}, {}, color, dashed};
  for (const EpochRecord& e : history) {
    if (const auto value = get(e)) {
      line.x.push_back(static_cast<double>(e.epoch));
      line.y.push_back(*value);
    }
  }
  return line;
}

std::optional<double> loss_of(const EpochRecord& e) { return e.loss; }
std::optional<double> accuracy_of(const EpochRecord& e) { return e.accuracy; }
std::optional<double> val_loss_of(const EpochRecord& e) { return e.val_loss; }
std::optional<double> val_accuracy_of(const EpochRecord& e) { return e.val_accuracy; }

// Draws a w x h image of pixel values in [0, 255] (ink), `at(i)` giving
// pixel i, scaled to `size` pixels square at (x, y).
template <typename PixelAt>
void draw_pixels(cairo_t* cr, int w, int h, PixelAt at, double x, double y, double size) {
  cairo_surface_t* image = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  cairo_surface_flush(image);
  unsigned char* pixels = cairo_image_surface_get_data(image);
  const int stride = cairo_image_surface_get_stride(image);
  for (int r = 0; r < h; ++r) {
    auto* row = reinterpret_cast<std::uint32_t*>(pixels + r * stride);
    for (int c = 0; c < w; ++c) {
      // Dark ink on white paper, as digits are written.
      const double ink = std::clamp(static_cast<double>(at(static_cast<std::size_t>(r * w + c))), 0.0, 255.0);
      const auto v = static_cast<std::uint32_t>(std::lround(255.0 - ink));
      row[c] = (v << 16) | (v << 8) | v;
    }
  }
  cairo_surface_mark_dirty(image);
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_scale(cr, size / w, size / h);
  cairo_set_source_surface(cr, image, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_surface_destroy(image);
  plots::set_color(cr, plots::kGrid);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, x - 0.5, y - 0.5, size + 1, size + 1);
  cairo_stroke(cr);
}

// Draws image `index` of `data` scaled to `size` pixels square at (x, y).
void draw_image(cairo_t* cr, const Dataset& data, std::size_t index, double x, double y, double size) {
  const std::uint8_t* src = data.image(index);
  draw_pixels(cr, static_cast<int>(data.cols), static_cast<int>(data.rows), [src](std::size_t i) { return src[i]; },
              x, y, size);
}

// A 2x5 grid of digits with a caption over each.
void digit_grid(const Dataset& data, const std::vector<Prediction>& shown, const std::string& title,
                const std::filesystem::path& png, bool with_confidence) {
  constexpr int kCols = 5, kRows = 2;
  const double kCell = with_confidence ? 210 : 168;
  constexpr double kImage = 140, kCaption = 34, kTitle = 46;
  if (shown.size() > kCols * kRows) throw ConfigError("a digit grid holds at most 10 images");
  for (const Prediction& p : shown) {
    if (p.index >= data.count) throw ConfigError("digit index out of range");
  }
  plots::render(
      static_cast<int>(kCols * kCell), static_cast<int>(kTitle + kRows * (kImage + kCaption + 14)),
      [&](cairo_t* cr) {
        plots::text(cr, kCols * kCell / 2, kTitle / 2, title, 18, Align::center, plots::kInk, true);
        for (std::size_t i = 0; i < shown.size(); ++i) {
          const Prediction& p = shown[i];
          const double x = static_cast<double>(i % kCols) * kCell + (kCell - kImage) / 2;
          const double y = kTitle + static_cast<double>(i / kCols) * (kImage + kCaption + 14);
          const bool wrong = p.label != p.predicted;
          const std::string caption =
              with_confidence
                  ? fmt::format("label: {}  pred: {} ({:.0f}%)", p.label, p.predicted, 100 * p.confidence)
                  : fmt::format("label: {}  pred: {}", p.label, p.predicted);
          plots::text(cr, x + kImage / 2, y + kCaption / 2, caption, 14, Align::center,
                      wrong ? plots::kValidationRed : plots::kInk, wrong);
          draw_image(cr, data, p.index, x, y + kCaption, kImage);
        }
      },
      png);
}

}  // namespace

void plot_training_curves(const std::vector<EpochRecord>& history, const std::string& title,
                          const std::filesystem::path& png, const std::filesystem::path& svg) {
  const bool has_validation = !history.empty() && history.front().val_loss.has_value();
  std::vector<Line> losses{series(history, "training", plots::kTrainingBlue, false, loss_of)};
  std::vector<Line> accuracies{series(history, "training", plots::kTrainingBlue, false, accuracy_of)};
  if (has_validation) {
    losses.push_back(series(history, "validation", plots::kValidationRed, false, val_loss_of));
    accuracies.push_back(series(history, "validation", plots::kValidationRed, false, val_accuracy_of));
  }
  constexpr double kWidth = 1200, kHeight = 480, kTitle = 40;
  plots::render(
      static_cast<int>(kWidth), static_cast<int>(kHeight),
      [&](cairo_t* cr) {
        plots::title(cr, kWidth / 2, 20, title, 18, kWidth - 24);
        plots::draw_line_chart(cr, {0, kTitle, kWidth / 2, kHeight - kTitle, "Loss", "epoch", "loss"},
                               losses, true);
        plots::draw_line_chart(
            cr, {kWidth / 2, kTitle, kWidth / 2, kHeight - kTitle, "Accuracy", "epoch", "accuracy", true},
            accuracies, true);
      },
      png, svg);
}

void plot_lr_find(const LrFindResult& result, const std::string& title, const std::filesystem::path& png) {
  Line raw{"loss of each step", {}, {}, {0.62, 0.76, 0.87}};
  Line smoothed{"smoothed", {}, {}, plots::kTrainingBlue};
  double low = INFINITY, high = -INFINITY;
  for (const LrFindPoint& p : result.points) {
    raw.x.push_back(p.lr);
    smoothed.x.push_back(p.lr);
    smoothed.y.push_back(p.smoothed);
    if (std::isfinite(p.smoothed)) low = std::min(low, p.smoothed), high = std::max(high, p.smoothed);
  }
  // The y range follows the smoothed curve (up to the divergence stop), so a
  // single wild step does not flatten the picture; raw points beyond it clip.
  for (const LrFindPoint& p : result.points) raw.y.push_back(std::min(p.loss, high));
  Line mark{fmt::format("suggested {:.2g}", result.suggested_lr), {result.suggested_lr, result.suggested_lr},
            {low, high}, plots::kValidationRed, true};
  constexpr double kWidth = 900, kHeight = 540, kTitle = 40;
  plots::render(
      static_cast<int>(kWidth), static_cast<int>(kHeight),
      [&](cairo_t* cr) {
        plots::title(cr, kWidth / 2, 20, title, 18, kWidth - 24);
        Panel panel{0, kTitle, kWidth, kHeight - kTitle, "Loss against learning rate", "learning rate (log scale)",
                    "loss"};
        panel.log_x = true;
        plots::draw_line_chart(cr, panel, {raw, smoothed, mark}, false);
      },
      png, {});
}

void plot_diagnostics(const std::vector<EpochDiagnostics>& epochs, const std::string& title,
                      const std::filesystem::path& png) {
  // One line per layer and quantity, in the layer's colour.
  std::map<std::size_t, Line> gradients, ratios, fractions;
  for (const EpochDiagnostics& e : epochs) {
    for (const LayerDiagnostics& d : e.layers) {
      const Rgb color = kRunColors[(d.layer - 1) % std::size(kRunColors)];
      const auto add = [&](std::map<std::size_t, Line>& lines, std::optional<double> value, const std::string& what) {
        if (!value) return;
        Line& line = lines.try_emplace(d.layer, Line{fmt::format("{} {}{}", d.layer, d.type, what), {}, {}, color}).first->second;
        line.x.push_back(static_cast<double>(e.epoch));
        line.y.push_back(*value);
      };
      add(gradients, d.gradient_norm, "");
      add(ratios, d.update_ratio, "");
      add(fractions, d.saturated, " saturated");
      add(fractions, d.dead, " dead");
    }
  }
  const auto values = [](const std::map<std::size_t, Line>& lines) {
    std::vector<Line> out;
    for (const auto& [layer, line] : lines) out.push_back(line);
    return out;
  };
  constexpr double kWidth = 1500, kHeight = 500, kTitle = 40, kPanel = kWidth / 3;
  plots::render(
      static_cast<int>(kWidth), static_cast<int>(kHeight),
      [&](cairo_t* cr) {
        plots::title(cr, kWidth / 2, 20, title, 18, kWidth - 24);
        Panel gradient{0, kTitle, kPanel, kHeight - kTitle, "Gradient norm per layer", "epoch", "|gradient| (log)"};
        gradient.log_y = true;
        plots::draw_line_chart(cr, gradient, values(gradients), true);
        Panel ratio{kPanel, kTitle, kPanel, kHeight - kTitle, "Update / weight size", "epoch", "|step| / |weights| (log)"};
        ratio.log_y = true;
        plots::draw_line_chart(cr, ratio, values(ratios), true);
        Panel fraction{2 * kPanel, kTitle, kPanel, kHeight - kTitle, "Saturated or dead units", "epoch",
                       "fraction on the probe batch"};
        std::vector<Line> shares = values(fractions);
        if (shares.empty()) shares.push_back({"no Sigmoid, Tanh or ReLU layers", {}, {}, plots::kGrid});
        plots::draw_line_chart(cr, fraction, shares, true);
      },
      png, {});
}

void plot_run_comparison(const std::vector<NamedHistory>& runs, const std::filesystem::path& png,
                         const std::filesystem::path& svg) {
  if (runs.empty()) throw ConfigError("nothing to compare: give at least one history");
  std::vector<Line> accuracies, losses;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Rgb color = kRunColors[i % std::size(kRunColors)];
    const NamedHistory& run = runs[i];
    accuracies.push_back(series(run.epochs, run.label + " (training)", color, false, accuracy_of));
    losses.push_back(series(run.epochs, run.label + " (training)", color, false, loss_of));
    if (!run.epochs.empty() && run.epochs.front().val_accuracy) {
      accuracies.push_back(series(run.epochs, run.label + " (validation)", color, true, val_accuracy_of));
      losses.push_back(series(run.epochs, run.label + " (validation)", color, true, val_loss_of));
    }
  }
  constexpr double kWidth = 1300, kHeight = 520, kTitle = 40;
  plots::render(
      static_cast<int>(kWidth), static_cast<int>(kHeight),
      [&](cairo_t* cr) {
        const std::string title = runs.size() == 1 ? "One run" : fmt::format("Comparison of {} runs", runs.size());
        plots::title(cr, kWidth / 2, 20, title, 18, kWidth - 24);
        // Loss left, accuracy right, as in every run folder's curves.png.
        plots::draw_line_chart(cr, {0, kTitle, kWidth / 2, kHeight - kTitle, "Loss", "epoch", "loss"}, losses,
                               true);
        plots::draw_line_chart(
            cr, {kWidth / 2, kTitle, kWidth / 2, kHeight - kTitle, "Accuracy", "epoch", "accuracy", true},
            accuracies, true);
      },
      png, svg);
}

void plot_sample_grid(const Dataset& data, const std::vector<Prediction>& shown,
                      const std::filesystem::path& png) {
  const auto wrong = std::count_if(shown.begin(), shown.end(),
                                   [](const Prediction& p) { return p.label != p.predicted; });
  digit_grid(data, shown, fmt::format("Random test digits: {} of {} predicted correctly",
                                      static_cast<long>(shown.size()) - wrong, shown.size()),
             png, false);
}

void plot_mistakes(const Dataset& data, const std::vector<Prediction>& shown,
                   const std::filesystem::path& png) {
  digit_grid(data, shown, "Most confident mistakes (label, prediction, confidence)", png, true);
}

void plot_confusion(const Evaluation& evaluation, const std::filesystem::path& png) {
  const std::size_t n = evaluation.confusion.size();
  const double cell = n <= 10 ? 52 : std::max(8.0, 520.0 / static_cast<double>(n));
  const double left = 90, top = 96, side = cell * static_cast<double>(n);
  plots::render(
      static_cast<int>(left + side + 40), static_cast<int>(top + side + 24),
      [&](cairo_t* cr) {
        plots::text(cr, left + side / 2, 24,
                    fmt::format("Confusion matrix: accuracy {:.2f}% (n = {})", 100 * evaluation.accuracy,
                                evaluation.n),
                    17, Align::center, plots::kInk, true);
        plots::text(cr, left + side / 2, top - 42, "predicted", 14, Align::center);
        plots::vertical_text(cr, 22, top + side / 2, "true label", 14);
        for (std::size_t t = 0; t < n; ++t) {
          std::size_t row_total = 0;
          for (std::size_t count : evaluation.confusion[t]) row_total += count;
          const double ty = top + static_cast<double>(t) * cell;
          plots::text(cr, left - 14, ty + cell / 2, fmt::format("{}", t), 13, Align::right);
          for (std::size_t p = 0; p < n; ++p) {
            const double px = left + static_cast<double>(p) * cell;
            if (t == 0) plots::text(cr, px + cell / 2, top - 14, fmt::format("{}", p), 13, Align::center);
            const std::size_t count = evaluation.confusion[t][p];
            // Colour by share of the true class, so rare classes read as clearly as common ones.
            const double share = row_total ? static_cast<double>(count) / static_cast<double>(row_total) : 0;
            const double shade = std::pow(share, 0.5);
            cairo_rectangle(cr, px, ty, cell, cell);
            plots::set_color(cr, {1 - shade * 0.9, 1 - shade * 0.6, 1 - shade * 0.2});
            cairo_fill(cr);
            if (n <= 20) {
              plots::text(cr, px + cell / 2, ty + cell / 2, fmt::format("{}", count), 12, Align::center,
                          shade > 0.55 ? Rgb{1, 1, 1} : plots::kInk);
            }
          }
        }
        plots::set_color(cr, plots::kInk);
        cairo_set_line_width(cr, 1);
        cairo_rectangle(cr, left + 0.5, top + 0.5, side, side);
        cairo_stroke(cr);
      },
      png);
}

void plot_digit(const Dataset& data, std::size_t index, const std::filesystem::path& png) {
  if (index >= data.count) {
    throw ConfigError(fmt::format("--index {} is out of range: {} has images 0 to {}", index, data.name,
                                  data.count - 1));
  }
  constexpr double kSize = 336, kTitle = 44;
  plots::render(
      static_cast<int>(kSize + 40), static_cast<int>(kSize + kTitle + 20),
      [&](cairo_t* cr) {
        plots::text(cr, (kSize + 40) / 2, kTitle / 2,
                    fmt::format("image {}: label {}", index, data.labels[index]), 18, Align::center,
                    plots::kInk, true);
        draw_image(cr, data, index, 20, kTitle, kSize);
      },
      png);
}

}  // namespace bpnet

namespace bpnet {

void plot_image_table(const ImageTable& table, const std::filesystem::path& png) {
  const std::size_t columns = table.column_titles.size();
  const std::size_t pixels = table.image_rows * table.image_cols;
  if (columns == 0 || table.rows.empty()) throw ConfigError("an image table needs at least one row and one column");
  for (const ImageTable::Row& row : table.rows) {
    if (row.images.size() != columns) throw ConfigError("every row of an image table needs one image per column");
    for (const auto& image : row.images) {
      if (image.size() != pixels) throw ConfigError("an image of the table has the wrong number of pixels");
    }
  }
  constexpr double kImage = 84, kGap = 10, kLeft = 120, kTitle = 46, kHeader = 26;
  const double width = kLeft + static_cast<double>(columns) * (kImage + kGap) + kGap;
  const double height = kTitle + kHeader + static_cast<double>(table.rows.size()) * (kImage + kGap) + kGap;
  plots::render(
      static_cast<int>(width), static_cast<int>(height),
      [&](cairo_t* cr) {
        plots::title(cr, width / 2, kTitle / 2, table.title, 17, width - 24);
        for (std::size_t c = 0; c < columns; ++c) {
          const double x = kLeft + static_cast<double>(c) * (kImage + kGap);
          plots::text(cr, x + kImage / 2, kTitle + kHeader / 2, table.column_titles[c], 13, Align::center,
                      plots::kInk, c == 0);
        }
        for (std::size_t r = 0; r < table.rows.size(); ++r) {
          const ImageTable::Row& row = table.rows[r];
          const double y = kTitle + kHeader + static_cast<double>(r) * (kImage + kGap);
          plots::text(cr, kLeft - 12, y + kImage / 2, row.title, 13, Align::right);
          for (std::size_t c = 0; c < columns; ++c) {
            const std::vector<float>& image = row.images[c];
            draw_pixels(cr, static_cast<int>(table.image_cols), static_cast<int>(table.image_rows),
                        [&image](std::size_t i) { return image[i]; },
                        kLeft + static_cast<double>(c) * (kImage + kGap), y, kImage);
          }
        }
      },
      png);
}

}  // namespace bpnet
