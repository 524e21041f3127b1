// bpnet predict: label, prediction and class probabilities of test images
// (--index), or of a user's own image files, made MNIST-style first.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>
#include <vector>

#include "bpnet/atomic_file.hpp"
#include "bpnet/image.hpp"
#include "bpnet/preprocess.hpp"
#include "bpnet/recognise.hpp"
#include "bpnet/error.hpp"
#include "bpnet/evaluate.hpp"
#include "bpnet/loss.hpp"
#include "bpnet/model_file.hpp"
#include "bpnet/predictor.hpp"
#include "cli_checks.hpp"
#include "commands.hpp"

namespace bpnet::cli {
namespace {

struct PredictFlags {
  std::string model;
  std::string data = default_data_dir();
  std::vector<std::size_t> indices;
  std::vector<std::string> images;  // files or folders
  std::string save_input;           // folder for what the network saw, or empty
  bool json = false;
};

bool is_image_name(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

// The files named, with each folder's PNG and JPEG files in name order.
std::vector<std::filesystem::path> image_files(const std::vector<std::string>& given) {
  std::vector<std::filesystem::path> files;
  for (const std::string& name : given) {
    std::error_code ec;
    if (!std::filesystem::is_directory(name, ec)) {
      files.emplace_back(name);
      continue;
    }
    std::vector<std::filesystem::path> inside;
    for (const auto& entry : std::filesystem::directory_iterator(name, ec)) {
      if (entry.is_regular_file() && is_image_name(entry.path())) inside.push_back(entry.path());
    }
    if (inside.empty()) throw ConfigError(fmt::format("{}: the folder holds no .png, .jpg or .jpeg file", name));
    std::sort(inside.begin(), inside.end());
    files.insert(files.end(), inside.begin(), inside.end());
  }
  return files;
}

// The network's input enlarged 10x, light digit on black as it saw it.
void save_input(const std::filesystem::path& folder, const std::filesystem::path& image, const DigitImage& input) {
  constexpr std::size_t kZoom = 10;
  GreyImage big{input.rows * kZoom, input.cols * kZoom, std::vector<std::uint8_t>(input.rows * input.cols * kZoom * kZoom)};
  for (std::size_t r = 0; r < big.rows; ++r) {
    for (std::size_t c = 0; c < big.cols; ++c) big.pixels[r * big.cols + c] = input.pixels[(r / kZoom) * input.cols + c / kZoom];
  }
  write_file_atomically(folder / (image.stem().string() + "-input.png"), encode_png(big));
}

int predict_images(const PredictFlags& flags, const Model<float>& model) {
  const std::vector<std::filesystem::path> files = image_files(flags.images);
  if (!flags.save_input.empty()) prepare_output_folder(flags.save_input);
  image_shape(model);  // a model without an image shape is refused before any file is read
  Predictor predictor(model);
  int failures = 0;
  for (const std::filesystem::path& file : files) {
    Recognition r;
    try {
      r = recognise(predictor, read_image(file), file.string());
    } catch (const DataError& e) {
      // One bad file does not stop the others; the exit status says so.
      std::fprintf(stderr, "bpnet: error: %s\n", e.what());
      ++failures;
      continue;
    }
    std::vector<std::size_t> order(r.probabilities.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return r.probabilities[a] > r.probabilities[b]; });
    order.resize(std::min<std::size_t>(3, order.size()));
    if (!flags.save_input.empty()) save_input(flags.save_input, file, r.input);
    if (flags.json) {
      nlohmann::json top = nlohmann::json::array();
      for (std::size_t c : order) top.push_back({{"label", c}, {"probability", r.probabilities[c]}});
      const nlohmann::json line = {{"file", file.string()}, {"predicted", r.label}, {"confidence", r.probabilities[r.label]},
                                   {"top3", top}, {"inverted", r.input.inverted}, {"probabilities", r.probabilities}};
      fmt::print("{}\n", line.dump());
    } else {
      std::string top3;
      for (std::size_t c : order) top3 += fmt::format("  {} {:.1f}%", c, 100 * r.probabilities[c]);
      fmt::print("{}: {} ({:.1f}%)   top 3:{}{}\n", file.string(), r.label, 100 * r.probabilities[r.label], top3,
                 r.input.inverted ? "   (dark ink on light: inverted)" : "");
    }
  }
  if (failures > 0) {
    std::fprintf(stderr, "bpnet: %d of %zu images could not be read\n", failures, files.size());
    return 1;
  }
  return 0;
}

int run_predict(const PredictFlags& flags) {
  if (flags.images.empty() == flags.indices.empty()) {
    throw ConfigError("give test-set indices (--index N...) or image files and folders: one of the two");
  }
  if (!flags.save_input.empty() && flags.images.empty()) throw ConfigError("--save-input applies to image files");
  auto model = load_model(flags.model);
  if (!flags.images.empty()) return predict_images(flags, *model);
  const ModelSpec& spec = model->spec();
  const std::size_t classes = model->classes();
  const Dataset test = load_dataset(flags.data, Split::test, kAnyLabel);
  check_labels(test, classes);
  if (test.features() != model->inputs()) {
    throw ConfigError(fmt::format("{} takes {}x{} images but the test images in {} are {}x{}", flags.model,
                                  spec.image_rows, spec.image_cols, flags.data, test.rows, test.cols));
  }
  std::vector<std::uint32_t> order;
  for (std::size_t index : flags.indices) {
    if (index >= test.count) {
      throw ConfigError(fmt::format("--index {} is out of range: the test set has images 0 to {}",
                                    index, test.count - 1));
    }
    order.push_back(static_cast<std::uint32_t>(index));
  }
  Matrix<float> x(order.size(), test.features());
  std::vector<std::uint8_t> labels(order.size());
  gather_batch(test, order, pixel_scale(spec.normalize), x, labels);
  Predictor predictor(*model);
  const ConstMatrixView<float> out = predictor.forward(x);
  for (std::size_t r = 0; r < order.size(); ++r) {
    const auto p = probabilities(out.row(r), classes, model->output_kind());
    const std::size_t predicted = argmax(out.row(r), classes);
    if (flags.json) {
      // One object per line, so that a script can read them one by one.
      const nlohmann::json line = {{"index", order[r]},       {"label", labels[r]},
                                   {"predicted", predicted},  {"correct", predicted == labels[r]},
                                   {"confidence", p[predicted]}, {"probabilities", p}};
      fmt::print("{}\n", line.dump());
      continue;
    }
    fmt::print("image {}: label {}  predicted {}  {}\n", order[r], labels[r], predicted,
               predicted == labels[r] ? "correct" : "WRONG");
    std::string row = "  probabilities:";
    for (std::size_t c = 0; c < p.size(); ++c) row += fmt::format(" {}:{:.4f}", c, p[c]);
    fmt::print("{}\n", row);
  }
  return 0;
}

}  // namespace

Command add_predict_command(CLI::App& app) {
  auto flags = std::make_shared<PredictFlags>();
  CLI::App* cmd = app.add_subcommand("predict", "Predict test-set images by index, or your own image files");
  cmd->add_option("--model", flags->model, "Model file (.bpn)")->required();
  cmd->add_option("--data", flags->data, "Folder with the IDX files")->capture_default_str();
  cmd->add_option("--index", flags->indices, "Test image indices (0-based), one or more")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(not_negative());
  cmd->add_option("images", flags->images, "PNG or JPEG files, or folders of them (made MNIST-style first)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--save-input", flags->save_input,
                  "Folder: write each image's 28x28 network input, enlarged, as NAME-input.png");
  cmd->add_flag("--json", flags->json, "One JSON object per image, one per line");
  return [flags] { return run_predict(*flags); };
}

}  // namespace bpnet::cli
