// Using the installed bpnet library: load a model (a .bpn file, or an ONNX
// MLP through bpnet::interop), then predict one digit of an IDX test set.
//
//   predict_digit MODEL DATA_DIR INDEX
//
// Built in CI against the installed tree, with CMake (CMakeLists.txt beside
// this file) and with pkg-config (see docs/interop.md).
#include <bpnet/dataset.hpp>
#include <bpnet/error.hpp>
#include <bpnet/loss.hpp>
#include <bpnet/model_file.hpp>
#include <bpnet/onnx.hpp>
#include <bpnet/predictor.hpp>
#include <bpnet/preprocess.hpp>
#include <bpnet/version.hpp>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL(.bpn|.onnx) DATA_DIR INDEX\n", argv[0]);
    return 2;
  }
  try {
    const std::string path = argv[1];
    // A PyTorch export does not say how pixels were scaled; torch's Normalize(0.5, 0.5) is the usual.
    const auto model = path.ends_with(".onnx") ? bpnet::import_onnx(path, {.normalize = bpnet::Normalize::torch})
                                               : bpnet::load_model(path);
    const bpnet::Dataset test = bpnet::load_dataset(argv[2], bpnet::Split::test);
    const std::uint32_t index = static_cast<std::uint32_t>(std::stoul(argv[3]));
    if (index >= test.count) throw bpnet::ConfigError("index out of range");

    bpnet::Matrix<float> x(1, test.features());
    std::uint8_t label = 0;
    bpnet::gather_batch(test, std::span(&index, 1), bpnet::pixel_scale(model->spec().normalize), x,
                        std::span(&label, 1));
    bpnet::Predictor predictor(*model);
    const auto out = predictor.forward(x);
    const auto p = bpnet::probabilities(out.row(0), model->classes(), model->output_kind());
    const std::size_t predicted = bpnet::argmax(out.row(0), model->classes());
    std::printf("bpnet %s: image %u: label %u, predicted %zu (probability %.4f)\n",
                std::string(bpnet::kVersion).c_str(), index, label, predicted, p[predicted]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "predict_digit: %s\n", e.what());
    return 1;
  }
}
