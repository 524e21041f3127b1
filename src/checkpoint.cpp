#include "bpnet/checkpoint.hpp"

#include <fmt/format.h>

#include <cstring>

#include "binary_io.hpp"
#include "bpnet/atomic_file.hpp"
#include "bpnet/error.hpp"
#include "bpnet/history.hpp"

namespace bpnet {
namespace {

constexpr char kMagic[8] = {'B', 'P', 'N', 'E', 'T', 'C', 'K', 'P'};
constexpr std::size_t kPrefixBytes = 16;
constexpr std::uint32_t kMaxHeaderBytes = 64 << 20;  // the history grows with the epochs
constexpr std::uint64_t kMaxCheckpointBytes = std::uint64_t{16} << 30;

nlohmann::json progress_to_json(const TrainerState& s) {
  return {{"epoch_rng", s.epoch_rng}, {"steps_done", s.steps_done}, {"loss_sum", s.loss_sum},
          {"correct", s.correct},     {"seen", s.seen},             {"seconds", s.seconds},
          {"optimizer_steps", s.optimizer_steps}};
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& c) {
  const nlohmann::json header = {{"config", config_to_json(c.config)},
                                 {"history", history_to_json(c.config, c.state.history, 0, std::nullopt)["epochs"]},
                                 {"progress", progress_to_json(c.state)},
                                 {"notes", c.notes}};
  const std::string text = header.dump();
  const auto& s = c.state;
  binary::Writer out(kPrefixBytes + text.size() + 8 + 8 * s.parameters.size() + 8 +
                     4 * s.optimizer_state.size() + 4);
  out.raw(kMagic, sizeof kMagic);
  out.value(kCheckpointFormatVersion);
  out.value(static_cast<std::uint32_t>(text.size()));
  out.raw(text.data(), text.size());
  out.value(static_cast<std::uint64_t>(s.parameters.size()));
  out.raw(s.parameters.data(), 4 * s.parameters.size());
  out.raw(s.gradients.data(), 4 * s.gradients.size());
  out.value(static_cast<std::uint64_t>(s.optimizer_state.size()));
  out.raw(s.optimizer_state.data(), 4 * s.optimizer_state.size());
  out.value(binary::crc32_of(out.written()));
  write_file_atomically(path, out.take());
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  const std::string name = path.string();
  const std::vector<std::uint8_t> bytes = binary::read_whole_file(path, kMaxCheckpointBytes);
  auto fail = [&](const std::string& problem) { return ModelFileError(name, problem); };
  if (bytes.size() < kPrefixBytes + 4 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw fail("not a bpnet checkpoint (no BPNETCKP magic at byte 0)");
  }
  const auto version = binary::read_at<std::uint32_t>(bytes, 8);
  if (version != kCheckpointFormatVersion) {
    throw fail(fmt::format("checkpoint format version {} is not the {} this bpnet reads{}", version,
                           kCheckpointFormatVersion,
                           version > kCheckpointFormatVersion ? "; upgrade bpnet to resume it" : ""));
  }
  const std::span<const std::uint8_t> all(bytes);
  if (binary::crc32_of(all.first(all.size() - 4)) != binary::read_at<std::uint32_t>(all, all.size() - 4)) {
    throw fail("checksum mismatch: the checkpoint is corrupt or truncated");
  }
  const auto header_bytes = binary::read_at<std::uint32_t>(all, 12);
  std::size_t offset = kPrefixBytes + header_bytes;
  // Every count is checked against the bytes that remain before it is used.
  auto take_count = [&](std::size_t element_bytes, std::size_t copies) {
    if (header_bytes > kMaxHeaderBytes || offset + 8 > all.size() - 4) throw fail("truncated checkpoint");
    const auto count = binary::read_at<std::uint64_t>(all, offset);
    offset += 8;
    if (count > (all.size() - 4 - offset) / (element_bytes * copies)) throw fail("truncated checkpoint");
    return static_cast<std::size_t>(count);
  };
  auto take_floats = [&](std::size_t count) {
    std::vector<float> values(count);
    std::memcpy(values.data(), all.data() + offset, 4 * count);
    offset += 4 * count;
    return values;
  };
  Checkpoint c;
  const std::size_t params = take_count(4, 2);
  c.state.parameters = take_floats(params);
  c.state.gradients = take_floats(params);
  c.state.optimizer_state = take_floats(take_count(4, 1));
  if (offset + 4 != all.size()) throw fail("unexpected bytes after the optimizer state");
  try {
    const auto* text = reinterpret_cast<const char*>(all.data() + kPrefixBytes);
    const nlohmann::json header = nlohmann::json::parse(text, text + header_bytes);
    c.config = config_from_json(header.at("config"));
    c.state.history = epochs_from_json(header.at("history"));
    const auto& p = header.at("progress");
    c.state.epoch_rng = p.at("epoch_rng").get<std::array<std::uint64_t, 4>>();
    c.state.steps_done = p.at("steps_done").get<std::size_t>();
    c.state.loss_sum = p.at("loss_sum").get<double>();
    c.state.correct = p.at("correct").get<std::size_t>();
    c.state.seen = p.at("seen").get<std::size_t>();
    c.state.seconds = p.at("seconds").get<double>();
    c.state.optimizer_steps = p.at("optimizer_steps").get<std::uint64_t>();
    c.notes = header.at("notes");
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("bad checkpoint header: {}", e.what()));
  } catch (const ConfigError& e) {
    throw fail(fmt::format("bad checkpoint header: {}", e.what()));
  }
  return c;
}

}  // namespace bpnet
