// Pictures of data, training runs and results, drawn with cairo. Every
// function writes its file atomically (temporary + rename) and throws
// WriteError if it cannot. Chart functions also take an optional SVG path.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "bpnet/dataset.hpp"
#include "bpnet/diagnostics.hpp"
#include "bpnet/evaluate.hpp"
#include "bpnet/lr_find.hpp"
#include "bpnet/train.hpp"

namespace bpnet {

// Two panels side by side, loss and accuracy per epoch: training in blue,
// validation in red (when the history has it); axes, ticks, legend, title.
void plot_training_curves(const std::vector<EpochRecord>& history, const std::string& title,
                          const std::filesystem::path& png, const std::filesystem::path& svg = {});

// A labelled history for comparison charts.
struct NamedHistory {
  std::string label;
  std::vector<EpochRecord> epochs;
};

// Accuracy and loss of several runs on one chart each, one colour per run:
// training solid, validation dashed.
void plot_run_comparison(const std::vector<NamedHistory>& runs, const std::filesystem::path& png,
                         const std::filesystem::path& svg = {});

// A 2x5 grid of digits, each titled "label: L  pred: P"; wrong ones in red.
// `shown` holds up to 10 predictions (from predict_all) to draw.
void plot_sample_grid(const Dataset& data, const std::vector<Prediction>& shown,
                      const std::filesystem::path& png);

// Like the sample grid, titled with label, prediction and confidence: meant
// for the most confidently wrong predictions.
void plot_mistakes(const Dataset& data, const std::vector<Prediction>& shown,
                   const std::filesystem::path& png);

// The confusion matrix as a heat map (row-normalised colour) with counts.
void plot_confusion(const Evaluation& evaluation, const std::filesystem::path& png);

// The learning-rate range test: each step's loss (light) and its moving
// average (bold) against the rate on a log axis, the suggestion marked.
void plot_lr_find(const LrFindResult& result, const std::string& title, const std::filesystem::path& png);

// Three panels over epochs, one line per layer: the gradient norm and the
// update-to-weight ratio (log scales) of layers with parameters, and the
// saturated (Sigmoid, Tanh) or dead (ReLU) fraction of activation layers.
void plot_diagnostics(const std::vector<EpochDiagnostics>& epochs, const std::string& title,
                      const std::filesystem::path& png);

// A table of images under a title: one row per image shown, one column per
// version of it (bpnet augment: the original, then its distortions). Pixel
// values in [0, 255] as ink, each image (image_rows, image_cols).
struct ImageTable {
  struct Row {
    std::string title;                       // left of the row
    std::vector<std::vector<float>> images;  // one per column
  };
  std::string title;
  std::vector<std::string> column_titles;
  std::vector<Row> rows;
  std::size_t image_rows = 0, image_cols = 0;
};
void plot_image_table(const ImageTable& table, const std::filesystem::path& png);

// One image enlarged, titled with its index and label.
void plot_digit(const Dataset& data, std::size_t index, const std::filesystem::path& png);

}  // namespace bpnet
