// The pictures bpnet makes (plots.hpp), composed from canvas and chart.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

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

// Draws image `index` of `data` scaled to `size` pixels square at (x, y).
void draw_image(cairo_t* cr, const Dataset& data, std::size_t index, double x, double y, double size) {
  const int w = static_cast<int>(data.cols), h = static_cast<int>(data.rows);
  cairo_surface_t* image = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  cairo_surface_flush(image);
  unsigned char* pixels = cairo_image_surface_get_data(image);
  const int stride = cairo_image_surface_get_stride(image);
  const std::uint8_t* src = data.image(index);
  for (int r = 0; r < h; ++r) {
    auto* row = reinterpret_cast<std::uint32_t*>(pixels + r * stride);
    for (int c = 0; c < w; ++c) {
      // Dark ink on white paper, as digits are written.
      const std::uint32_t v = 255u - src[r * w + c];
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
