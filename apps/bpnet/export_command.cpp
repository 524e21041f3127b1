// bpnet export: a saved model as an ONNX file or a standalone C file.
#include <fmt/format.h>

#include <filesystem>

#include "bpnet/atomic_file.hpp"
#include "bpnet/c_export.hpp"
#include "bpnet/error.hpp"
#include "bpnet/model_file.hpp"
#include "bpnet/onnx.hpp"
#include "cli_checks.hpp"
#include "commands.hpp"

namespace bpnet::cli {
namespace {

struct ExportFlags {
  std::string model;
  std::string format;  // onnx or c; empty: from --out's extension
  std::string out;
  bool raw_pixels = false;
};

// --format, or what --out's extension says when --format is left out.
std::string export_format(const ExportFlags& flags) {
  if (!flags.format.empty()) {
    check_extension(flags.out, flags.format == "onnx" ? ".onnx" : ".c", "--out");
    return flags.format;
  }
  const std::string ext = std::filesystem::path(flags.out).extension().string();
  if (ext == ".onnx") return "onnx";
  if (ext == ".c") return "c";
  throw ConfigError(fmt::format("--out {}: give --format onnx or --format c (or a name ending in .onnx or .c)", flags.out));
}

int run_export(const ExportFlags& flags) {
  const std::string format = export_format(flags);
  if (flags.raw_pixels && format != "onnx") {
    throw ConfigError("--raw-pixels applies to ONNX files; the C file has bpnet_pixels_to_input() instead");
  }
  prepare_output_file(flags.out);
  auto model = load_model(flags.model);
  if (format == "onnx") {
    export_onnx(flags.out, *model, {.raw_pixels = flags.raw_pixels});
    fmt::print("wrote {} (ONNX opset {}, input {} [N, {}], output [N, {}])\n", flags.out, kOnnxExportOpset,
               flags.raw_pixels ? "raw pixels 0..255" : "normalised pixels", model->inputs(), model->classes());
  } else {
    export_c(flags.out, *model, std::filesystem::path(flags.model).filename().string());
    fmt::print("wrote {} (C99: int bpnet_predict(const float *input, float *probabilities))\n", flags.out);
  }
  return 0;
}

}  // namespace

Command add_export_command(CLI::App& app) {
  auto flags = std::make_shared<ExportFlags>();
  CLI::App* cmd = app.add_subcommand("export", "Write a saved model as an ONNX file or a standalone C file");
  cmd->add_option("--model", flags->model, "Model file (.bpn)")->required();
  cmd->add_option("--format", flags->format, "onnx or c (default: from --out's extension)")
      ->check(CLI::IsMember({"onnx", "c"}));
  cmd->add_option("--out", flags->out, "File to write (.onnx or .c)")->required();
  cmd->add_flag("--raw-pixels", flags->raw_pixels,
                "ONNX: take raw pixel values 0..255, with the normalisation inside the graph");
  return [flags] { return run_export(*flags); };
}

}  // namespace bpnet::cli
