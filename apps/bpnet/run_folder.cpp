#include "run_folder.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>

#include "bpnet/atomic_file.hpp"
#include "bpnet/error.hpp"
#include "bpnet/history.hpp"
#include "bpnet/model_file.hpp"
#include "bpnet/plots.hpp"
#include <nlohmann/json.hpp>

namespace bpnet::cli {
namespace {

constexpr std::size_t kGridSize = 10;

std::string optional_cell(const std::optional<double>& v) {
  return v ? fmt::format("{:.6f}", *v) : std::string();
}

std::string history_csv(const std::vector<EpochRecord>& history) {
  std::string csv = "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n";
  for (const EpochRecord& e : history) {
    csv += fmt::format("{},{:.6f},{:.6f},{},{},{:.4f}\n", e.epoch, e.loss, e.accuracy,
                       optional_cell(e.val_loss), optional_cell(e.val_accuracy), e.seconds);
  }
  return csv;
}

// Ten distinct random test images, drawn with the run's seed.
std::vector<Prediction> random_sample(const std::vector<Prediction>& all, std::uint64_t seed) {
  std::vector<std::uint32_t> order(all.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng(seed ^ 0x5eedULL);
  rng.shuffle(order);
  std::vector<Prediction> shown;
  for (std::size_t i = 0; i < std::min(kGridSize, order.size()); ++i) shown.push_back(all[order[i]]);
  return shown;
}

std::vector<Prediction> most_confident_mistakes(const std::vector<Prediction>& all) {
  std::vector<Prediction> wrong;
  std::copy_if(all.begin(), all.end(), std::back_inserter(wrong),
               [](const Prediction& p) { return p.label != p.predicted; });
  std::stable_sort(wrong.begin(), wrong.end(),
                   [](const Prediction& a, const Prediction& b) { return a.confidence > b.confidence; });
  if (wrong.size() > kGridSize) wrong.resize(kGridSize);
  return wrong;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string report_html(const TrainConfig& config, const std::vector<EpochRecord>& history,
                        const RunSummary& summary, bool has_mistakes) {
  std::string config_rows;
  const nlohmann::json config_fields = nlohmann::json::parse(config_json(config, summary.origin));
  for (const auto& [key, value] : config_fields.items()) {
    config_rows += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", html_escape(key), html_escape(value.dump()));
  }
  std::string epoch_rows;
  for (const EpochRecord& e : history) {
    epoch_rows += fmt::format(
        "<tr><td>{}</td><td>{:.4f}</td><td>{:.4f}</td><td>{}</td><td>{}</td><td>{:.2f}</td></tr>\n", e.epoch,
        e.loss, e.accuracy, e.val_loss ? fmt::format("{:.4f}", *e.val_loss) : "&ndash;",
        e.val_accuracy ? fmt::format("{:.4f}", *e.val_accuracy) : "&ndash;", e.seconds);
  }
  const Evaluation& t = *summary.outcome.test;
  return fmt::format(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>bpnet run: {title}</title>
<style>
body {{ font-family: sans-serif; max-width: 1260px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 3px 10px; text-align: right; }}
th {{ background: #f3f3f3; text-align: left; }}
img {{ max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }}
.big {{ font-size: 1.4em; }}
</style></head><body>
<h1>bpnet run</h1>
<p class="big">{title}</p>
<h2>Result</h2>
<table>
<tr><th>test accuracy</th><td>{accuracy:.2f}% &plusmn; {se:.2f}% (n = {n})</td></tr>
<tr><th>test loss</th><td>{loss:.4f}</td></tr>
<tr><th>training time</th><td>{seconds:.2f} s ({per_epoch:.3f} s per epoch)</td></tr>
</table>
<h2>Training curves</h2>
<img src="curves.png" alt="loss and accuracy per epoch, training and validation">
<h2>Random test digits</h2>
<img src="samples.png" alt="ten random test digits with label and prediction">
<h2>Confusion matrix</h2>
<img src="confusion.png" alt="confusion matrix of the test set">
{mistakes}
{diagnostics}
<h2>Per epoch</h2>
<table><tr><th>epoch</th><th>loss</th><th>accuracy</th><th>val_loss</th><th>val_accuracy</th><th>seconds</th></tr>
{epochs}</table>
<h2>Configuration</h2>
<table>
{config}</table>
<p>Files: <a href="model.bpn">model.bpn</a>, <a href="history.json">history.json</a>,
<a href="history.csv">history.csv</a>, <a href="config.json">config.json</a>, <a href="curves.svg">curves.svg</a></p>
</body></html>
)",
                     fmt::arg("title", html_escape(summary.title)), fmt::arg("accuracy", 100 * t.accuracy),
                     fmt::arg("se", 100 * t.standard_error), fmt::arg("n", t.n), fmt::arg("loss", t.loss),
                     fmt::arg("seconds", summary.outcome.train_seconds),
                     fmt::arg("per_epoch", history.empty() ? 0.0 : summary.outcome.train_seconds / static_cast<double>(history.size())),
                     fmt::arg("mistakes", has_mistakes ? "<h2>Most confident mistakes</h2>\n<img src=\"mistakes.png\" "
                                                         "alt=\"the test digits the network got wrong most confidently\">"
                                                       : ""),
                     fmt::arg("diagnostics",
                              summary.outcome.diagnostics.empty()
                                  ? ""
                                  : "<h2>Inside back-propagation</h2>\n<p>Per layer and epoch: the gradient norm, the size "
                                    "of each update relative to the weights (about 1e-3 is healthy), and the share "
                                    "of saturated Sigmoid/Tanh outputs or dead ReLU units on a fixed batch of 512 "
                                    "training images (history.json has the numbers and histograms).</p>\n<img "
                                    "src=\"diagnostics.png\" alt=\"gradient norms, update ratios and saturated or "
                                    "dead units per layer over epochs\">"),
                     fmt::arg("epochs", epoch_rows), fmt::arg("config", config_rows));
}

}  // namespace

// Every file a run writes into its folder.
constexpr std::array kRunFiles{"model.bpn",   "history.json",  "history.csv",  "config.json",
                               "curves.png",  "curves.svg",    "samples.png",  "confusion.png",
                               "mistakes.png", "diagnostics.png", "report.html", "checkpoint.bpck"};

void claim_run_folder(const std::filesystem::path& folder, bool overwrite) {
  prepare_output_folder(folder);
  std::vector<std::string> found;
  std::error_code ec;
  for (const char* file : kRunFiles) {
    if (std::filesystem::exists(folder / file, ec)) found.push_back(file);
  }
  if (found.empty()) return;
  if (!overwrite) {
    throw ConfigError(fmt::format("run folder {} holds another run's files ({}); choose another --run-dir, "
                                  "or add --overwrite to replace them",
                                  folder.string(), fmt::join(found, ", ")));
  }
  for (const std::string& file : found) {
    if (!std::filesystem::remove(folder / file, ec) || ec) {
      throw WriteError((folder / file).string(), fmt::format("cannot remove it for --overwrite: {}", ec.message()));
    }
  }
}

std::filesystem::path default_run_folder(const std::string& preset_name) {
  const std::time_t now = std::time(nullptr);
  const std::string stamp = fmt::format("{:%Y%m%d-%H%M%S}", fmt::localtime(now));
  std::filesystem::path folder = std::filesystem::path("runs") / fmt::format("{}-{}", stamp, preset_name);
  // Two runs started in the same second get distinct folders.
  std::error_code ec;
  for (int i = 2; std::filesystem::exists(folder, ec); ++i) {
    folder = std::filesystem::path("runs") / fmt::format("{}-{}-{}", stamp, preset_name, i);
  }
  return folder;
}

void write_run_folder(const std::filesystem::path& folder, Trainer& trainer, const Dataset& test,
                      const RunSummary& summary) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) throw WriteError(folder.string(), ec.message());
  const TrainConfig& config = trainer.config();
  const auto& history = trainer.history();
  save_model(folder / "model.bpn", trainer.model());
  write_file_atomically(folder / "history.json",
                        history_json(config, summary.origin, history, summary.outcome));
  write_file_atomically(folder / "history.csv", history_csv(history));
  write_file_atomically(folder / "config.json", config_json(config, summary.origin));
  plot_training_curves(history, summary.title, folder / "curves.png", folder / "curves.svg");
  const std::vector<Prediction> predictions = predict_all(trainer.model(), test);
  plot_sample_grid(test, random_sample(predictions, config.seed), folder / "samples.png");
  plot_confusion(*summary.outcome.test, folder / "confusion.png");
  if (!summary.outcome.diagnostics.empty()) {
    plot_diagnostics(summary.outcome.diagnostics, "Inside back-propagation: " + summary.title, folder / "diagnostics.png");
  }
  const auto mistakes = most_confident_mistakes(predictions);
  if (!mistakes.empty()) plot_mistakes(test, mistakes, folder / "mistakes.png");
  write_file_atomically(folder / "report.html", report_html(config, history, summary, !mistakes.empty()));
}

}  // namespace bpnet::cli
