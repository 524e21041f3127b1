#include "bpnet/model_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "bpnet/atomic_file.hpp"
#include "bpnet/error.hpp"
#include "binary_io.hpp"
#include "json_forms.hpp"

namespace bpnet {
namespace {

using binary::crc32_of;
using binary::read_at;
using binary::Writer;

constexpr char kMagic[8] = {'B', 'P', 'N', 'E', 'T', 'M', 'D', 'L'};
constexpr std::size_t kPrefixBytes = 16;   // magic, version, header length
constexpr std::uint32_t kMaxHeaderBytes = 1 << 20;
constexpr std::uint64_t kMaxModelFileBytes = std::uint64_t{4} << 30;

// Version 1 stored the --layers shorthand; it reads as the list it stood for.
ModelSpec spec_from_v1_json(const nlohmann::json& j) {
  LayerShorthand shorthand;
  shorthand.sizes = j.at("layers").get<std::vector<std::size_t>>();
  shorthand.activation = parse_activation(j.at("activation").get<std::string>());
  if (shorthand.activation != Activation::sigmoid && shorthand.activation != Activation::tanh &&
      shorthand.activation != Activation::relu) {
    throw ConfigError("version 1 files know only sigmoid, tanh and relu");
  }
  shorthand.output = parse_output(j.at("output").get<std::string>());
  for (std::size_t size : shorthand.sizes) {
    if (size == 0 || size > (1u << 20)) throw ConfigError(fmt::format("layer size {} is out of range", size));
  }
  ModelSpec spec = expand(shorthand, parse_loss(j.at("loss").get<std::string>()),
                          parse_normalize(j.at("normalize").get<std::string>()));
  nlohmann::json v2 = model_spec_to_json(spec);
  v2["image_shape"] = j.at("image_shape");
  return model_spec_from_json(v2);  // validates, image shape included
}

// Reads the u64 count at `offset` and checks that count floats fit before `end`.
std::size_t float_count_at(std::span<const std::uint8_t> bytes, std::size_t& offset, std::size_t end,
                           const std::function<ModelFileError(const std::string&)>& fail, const char* what) {
  if (offset + 8 > end) throw fail(fmt::format("truncated before the {} count", what));
  const auto count = read_at<std::uint64_t>(bytes, offset);
  offset += 8;
  if (count > (end - offset) / 4) {
    throw fail(fmt::format("the file claims {} {} but has room for {}", count, what, (end - offset) / 4));
  }
  return static_cast<std::size_t>(count);
}

}  // namespace

std::vector<std::uint8_t> encode_model(const Model<float>& model) {
  const std::string header = model_spec_to_json(model.spec()).dump();
  const auto params = model.parameters();
  const auto buffers = model.buffers();
  Writer out(kPrefixBytes + header.size() + 8 + params.size_bytes() + 8 + buffers.size_bytes() + 4);
  out.raw(kMagic, sizeof kMagic);
  out.value(kModelFormatVersion);
  out.value(static_cast<std::uint32_t>(header.size()));
  out.raw(header.data(), header.size());
  out.value(static_cast<std::uint64_t>(params.size()));
  out.raw(params.data(), params.size_bytes());
  out.value(static_cast<std::uint64_t>(buffers.size()));
  out.raw(buffers.data(), buffers.size_bytes());
  out.value(crc32_of(out.written()));
  return out.take();
}

std::unique_ptr<Model<float>> decode_model(std::span<const std::uint8_t> bytes, const std::string& name) {
  const std::function<ModelFileError(const std::string&)> fail = [&](const std::string& problem) {
    return ModelFileError(name, problem);
  };
  if (bytes.size() < kPrefixBytes || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw fail("not a bpnet model file (no BPNETMDL magic at byte 0)");
  }
  if (bytes.size() < kPrefixBytes + 4) throw fail("truncated: no room for the checksum");
  const auto stored_crc = read_at<std::uint32_t>(bytes, bytes.size() - 4);
  const bool crc_ok = crc32_of(bytes.first(bytes.size() - 4)) == stored_crc;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  // The checksum comes first, so damage is never mistaken for a newer
  // version. (Fuzzing builds skip it so that mutated inputs reach the checks
  // below.)
  if (!crc_ok) throw fail("checksum mismatch: the file is corrupt or truncated");
#else
  (void)crc_ok;
#endif
  const auto version = read_at<std::uint32_t>(bytes, 8);
  if (version > kModelFormatVersion) {
    throw fail(fmt::format(
        "model format version {} is newer than this bpnet reads ({}); upgrade bpnet to load it",
        version, kModelFormatVersion));
  }
  if (version == 0) throw fail("model format version 0 is invalid");
  const auto header_bytes = read_at<std::uint32_t>(bytes, 12);
  const std::size_t end = bytes.size() - 4;  // the CRC
  if (header_bytes > kMaxHeaderBytes || kPrefixBytes + header_bytes > end) {
    throw fail(fmt::format("truncated or corrupt: header claims {} bytes, file has {} in all",
                           header_bytes, bytes.size()));
  }
  ModelSpec spec;
  try {
    const auto* text = reinterpret_cast<const char*>(bytes.data() + kPrefixBytes);
    const nlohmann::json header = nlohmann::json::parse(text, text + header_bytes);
    spec = version == 1 ? spec_from_v1_json(header) : model_spec_from_json(header);
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("bad architecture header: {}", describe(e)));
  } catch (const ConfigError& e) {
    throw fail(fmt::format("bad architecture header: {}", e.what()));
  }
  // Sizes are checked against the file before the model is allocated.
  std::size_t offset = kPrefixBytes + header_bytes;
  const std::size_t params = float_count_at(bytes, offset, end, fail, "parameters");
  if (params != spec.parameter_count()) {
    throw fail(fmt::format("the architecture has {} parameters but the file stores {}", spec.parameter_count(),
                           params));
  }
  const std::size_t params_at = offset;
  offset += 4 * params;
  std::size_t buffers = 0;
  if (version >= 2) buffers = float_count_at(bytes, offset, end, fail, "buffers");
  if (buffers != spec.buffer_count()) {
    throw fail(fmt::format("the architecture has {} buffers but the file stores {}", spec.buffer_count(), buffers));
  }
  if (offset + 4 * buffers != end) {
    throw fail(fmt::format("expected {} bytes, found {}", offset + 4 * buffers + 4, bytes.size()));
  }
  auto model = std::make_unique<Model<float>>(spec);
  std::copy_n(bytes.data() + params_at, 4 * params, reinterpret_cast<std::uint8_t*>(model->parameters().data()));
  std::copy_n(bytes.data() + offset, 4 * buffers, reinterpret_cast<std::uint8_t*>(model->buffers().data()));
  const auto check = [&](std::span<const float> values, const char* what) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) throw fail(fmt::format("{} {} is not finite", what, i));
    }
  };
  check(model->parameters(), "parameter");
  check(model->buffers(), "buffer");
  return model;
}

void save_model(const std::filesystem::path& path, const Model<float>& model) {
  write_file_atomically(path, encode_model(model));
}

std::unique_ptr<Model<float>> load_model(const std::filesystem::path& path) {
  return decode_model(binary::read_whole_file(path, kMaxModelFileBytes), path.string());
}

}  // namespace bpnet
