// bpnet import: an ONNX MLP (e.g. from PyTorch's torch.onnx.export) as a
// bpnet model file.
#include <fmt/format.h>

#include "bpnet/atomic_file.hpp"
#include "bpnet/model_file.hpp"
#include "bpnet/onnx.hpp"
#include "cli_checks.hpp"
#include "commands.hpp"

namespace bpnet::cli {
namespace {

struct ImportFlags {
  std::string onnx;
  std::string out;
  std::string normalize;  // empty: from the file's bpnet metadata
};

int run_import(const ImportFlags& flags) {
  check_extension(flags.out, ".bpn", "--out");
  prepare_output_file(flags.out);
  OnnxImportOptions options;
  if (!flags.normalize.empty()) options.normalize = parse_normalize(flags.normalize);
  auto model = import_onnx(flags.onnx, options);
  save_model(flags.out, *model);
  fmt::print("wrote {}: {} ({} parameters, normalisation {})\n", flags.out, model->spec().describe(),
             model->spec().parameter_count(), name(model->spec().normalize));
  return 0;
}

}  // namespace

Command add_import_command(CLI::App& app) {
  auto flags = std::make_shared<ImportFlags>();
  CLI::App* cmd = app.add_subcommand("import", "Read an ONNX MLP (e.g. exported by PyTorch) into a model file");
  cmd->add_option("--onnx", flags->onnx, "ONNX file to read")->required();
  cmd->add_option("--out", flags->out, "Model file to write (.bpn)")->required();
  cmd->add_option("--normalize", flags->normalize,
                  "How the model expects pixels: unit (x/255) or torch ((x/255-0.5)/0.5); "
                  "required unless the file was exported by bpnet")
      ->check(CLI::IsMember({"unit", "torch"}));
  return [flags] { return run_import(*flags); };
}

}  // namespace bpnet::cli
