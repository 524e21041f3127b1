#include "bpnet/model_file.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "bpnet/atomic_file.hpp"
#include "bpnet/error.hpp"
#include "binary_io.hpp"

namespace bpnet {
namespace {

using binary::crc32_of;
using binary::read_at;
using binary::Writer;

constexpr char kMagic[8] = {'B', 'P', 'N', 'E', 'T', 'M', 'D', 'L'};
constexpr std::size_t kPrefixBytes = 16;   // magic, version, header length
constexpr std::size_t kFixedBytes = 28;    // prefix + parameter count + CRC
constexpr std::uint32_t kMaxHeaderBytes = 1 << 20;
constexpr std::uint64_t kMaxModelFileBytes = std::uint64_t{4} << 30;

nlohmann::json spec_to_json(const ModelSpec& spec) {
  return {{"layers", spec.layer_sizes},
          {"activation", name(spec.activation)},
          {"output", name(spec.output)},
          {"loss", name(spec.loss)},
          {"normalize", name(spec.normalize)},
          {"image_shape", {spec.image_rows, spec.image_cols}}};
}

ModelSpec spec_from_json(const nlohmann::json& j) {
  ModelSpec spec;
  spec.layer_sizes = j.at("layers").get<std::vector<std::size_t>>();
  spec.activation = parse_activation(j.at("activation").get<std::string>());
  spec.output = parse_output(j.at("output").get<std::string>());
  spec.loss = parse_loss(j.at("loss").get<std::string>());
  spec.normalize = parse_normalize(j.at("normalize").get<std::string>());
  const auto shape = j.at("image_shape").get<std::vector<std::size_t>>();
  if (shape.size() != 2) throw ConfigError("image_shape must have 2 entries");
  spec.image_rows = shape[0];
  spec.image_cols = shape[1];
  spec.validate();
  if (spec.image_rows * spec.image_cols != spec.inputs()) {
    throw ConfigError("image_shape does not match the input size");
  }
  return spec;
}

}  // namespace

std::vector<std::uint8_t> encode_model(const Network<float>& network) {
  const std::string header = spec_to_json(network.spec()).dump();
  const auto params = network.parameters();
  Writer out(kFixedBytes + header.size() + params.size_bytes());
  out.raw(kMagic, sizeof kMagic);
  out.value(kModelFormatVersion);
  out.value(static_cast<std::uint32_t>(header.size()));
  out.raw(header.data(), header.size());
  out.value(static_cast<std::uint64_t>(params.size()));
  out.raw(params.data(), params.size_bytes());
  out.value(crc32_of(out.written()));
  return out.take();
}

std::unique_ptr<Network<float>> decode_model(std::span<const std::uint8_t> bytes,
                                             const std::string& name) {
  auto fail = [&](const std::string& problem) { return ModelFileError(name, problem); };
  if (bytes.size() < kPrefixBytes || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw fail("not a bpnet model file (no BPNETMDL magic at byte 0)");
  }
  const auto version = read_at<std::uint32_t>(bytes, 8);
  if (version > kModelFormatVersion) {
    throw fail(fmt::format(
        "model format version {} is newer than this bpnet reads ({}); upgrade bpnet to load it",
        version, kModelFormatVersion));
  }
  if (version == 0) throw fail("model format version 0 is invalid");
  const auto header_bytes = read_at<std::uint32_t>(bytes, 12);
  if (header_bytes > kMaxHeaderBytes || kFixedBytes + header_bytes > bytes.size()) {
    throw fail(fmt::format("truncated or corrupt: header claims {} bytes, file has {} in all",
                           header_bytes, bytes.size()));
  }
  const auto stored_crc = read_at<std::uint32_t>(bytes, bytes.size() - 4);
  const bool crc_ok = crc32_of(bytes.first(bytes.size() - 4)) == stored_crc;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  // (Fuzzing builds skip this so that mutated inputs reach the checks below.)
  if (!crc_ok) throw fail("checksum mismatch: the file is corrupt or truncated");
#else
  (void)crc_ok;
#endif
  ModelSpec spec;
  try {
    const auto* text = reinterpret_cast<const char*>(bytes.data() + kPrefixBytes);
    spec = spec_from_json(nlohmann::json::parse(text, text + header_bytes));
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("bad architecture header: {}", e.what()));
  } catch (const ConfigError& e) {
    throw fail(fmt::format("bad architecture header: {}", e.what()));
  }
  // Sizes are checked against the file before the network is allocated.
  const auto count = read_at<std::uint64_t>(bytes, kPrefixBytes + header_bytes);
  if (count != spec.parameter_count()) {
    throw fail(fmt::format("the architecture has {} parameters but the file stores {}",
                           spec.parameter_count(), count));
  }
  if (bytes.size() != kFixedBytes + header_bytes + 4 * count) {
    throw fail(fmt::format("expected {} bytes, found {}", kFixedBytes + header_bytes + 4 * count,
                           bytes.size()));
  }
  auto network = std::make_unique<Network<float>>(spec);
  const auto params = network->parameters();
  std::memcpy(params.data(), bytes.data() + kPrefixBytes + header_bytes + 8, params.size_bytes());
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!std::isfinite(params[i])) throw fail(fmt::format("parameter {} is not finite", i));
  }
  return network;
}

void save_model(const std::filesystem::path& path, const Network<float>& network) {
  write_file_atomically(path, encode_model(network));
}

std::unique_ptr<Network<float>> load_model(const std::filesystem::path& path) {
  return decode_model(binary::read_whole_file(path, kMaxModelFileBytes), path.string());
}

}  // namespace bpnet
