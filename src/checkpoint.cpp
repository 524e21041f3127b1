#include "bpnet/checkpoint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "binary_io.hpp"
#include "bpnet/atomic_file.hpp"
#include "bpnet/error.hpp"
#include "json_forms.hpp"

namespace bpnet {
namespace {

constexpr char kMagic[8] = {'B', 'P', 'N', 'E', 'T', 'C', 'K', 'P'};
constexpr std::size_t kPrefixBytes = 16;
constexpr std::uint32_t kMaxHeaderBytes = 64 << 20;  // the history grows with the epochs
constexpr std::uint64_t kMaxCheckpointBytes = std::uint64_t{16} << 30;

// The float arrays of a state, in file order.
std::array<std::vector<float>*, 6> arrays_of(TrainerState& s) {
  return {&s.parameters, &s.gradients, &s.buffers, &s.optimizer_state, &s.best_parameters, &s.best_buffers};
}

nlohmann::json progress_to_json(const TrainerState& s) {
  const EarlyStoppingState& e = s.early_stopping;
  return {{"epoch_rng", s.epoch_rng},
          {"steps_done", s.steps_done},
          {"loss_sum", s.loss_sum},
          {"correct", s.correct},
          {"seen", s.seen},
          {"seconds", s.seconds},
          {"optimizer_steps", s.optimizer_steps},
          {"schedule", {{"plateau_scale", s.schedule.plateau_scale},
                        {"best", s.schedule.best},
                        {"bad_epochs", s.schedule.bad_epochs}}},
          {"early_stopping", {{"best", e.best ? nlohmann::json(*e.best) : nlohmann::json(nullptr)},
                              {"best_epoch", e.best_epoch},
                              {"wait", e.wait},
                              {"stopped", e.stopped}}}};
}

void progress_from_json(const nlohmann::json& p, TrainerState& s) {
  s.epoch_rng = p.at("epoch_rng").get<std::array<std::uint64_t, 4>>();
  s.steps_done = p.at("steps_done").get<std::size_t>();
  s.loss_sum = p.at("loss_sum").get<double>();
  s.correct = p.at("correct").get<std::size_t>();
  s.seen = p.at("seen").get<std::size_t>();
  s.seconds = p.at("seconds").get<double>();
  s.optimizer_steps = p.at("optimizer_steps").get<std::uint64_t>();
  const auto& schedule = p.at("schedule");
  s.schedule.plateau_scale = schedule.at("plateau_scale").get<double>();
  // JSON has no infinity: the untouched "best" is written as null.
  s.schedule.best = schedule.at("best").is_null() ? ScheduleState{}.best : schedule.at("best").get<double>();
  s.schedule.bad_epochs = schedule.at("bad_epochs").get<std::size_t>();
  const auto& e = p.at("early_stopping");
  if (!e.at("best").is_null()) s.early_stopping.best = e.at("best").get<double>();
  s.early_stopping.best_epoch = e.at("best_epoch").get<std::size_t>();
  s.early_stopping.wait = e.at("wait").get<std::size_t>();
  s.early_stopping.stopped = e.at("stopped").get<bool>();
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& c) {
  const nlohmann::json header = {{"config", config_to_json(c.config)},
                                 {"history", epochs_to_json(c.state.history)},
                                 {"progress", progress_to_json(c.state)},
                                 {"notes", {{"data", c.data},
                                            {"data_fingerprint", c.data_fingerprint},
                                            {"preset", c.preset},
                                            {"train_seconds", c.train_seconds}}}};
  const std::string text = header.dump();
  TrainerState state = c.state;
  std::size_t size = kPrefixBytes + text.size() + 4;
  for (const auto* values : arrays_of(state)) size += 8 + 4 * values->size();
  binary::Writer out(size);
  out.raw(kMagic, sizeof kMagic);
  out.value(kCheckpointFormatVersion);
  out.value(static_cast<std::uint32_t>(text.size()));
  out.raw(text.data(), text.size());
  for (const auto* values : arrays_of(state)) {
    out.value(static_cast<std::uint64_t>(values->size()));
    out.raw(values->data(), 4 * values->size());
  }
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
  const std::span<const std::uint8_t> all(bytes);
  if (binary::crc32_of(all.first(all.size() - 4)) != binary::read_at<std::uint32_t>(all, all.size() - 4)) {
    throw fail("checksum mismatch: the checkpoint is corrupt or truncated");
  }
  const auto version = binary::read_at<std::uint32_t>(bytes, 8);
  if (version != kCheckpointFormatVersion) {
    throw fail(fmt::format("checkpoint format version {} is not the {} this bpnet reads; {}", version,
                           kCheckpointFormatVersion,
                           version > kCheckpointFormatVersion ? "upgrade bpnet to resume it"
                                                              : "it was written by an older bpnet, which can resume it"));
  }
  const auto header_bytes = binary::read_at<std::uint32_t>(all, 12);
  const std::size_t end = all.size() - 4;
  if (header_bytes > kMaxHeaderBytes || kPrefixBytes + header_bytes > end) throw fail("truncated checkpoint");
  std::size_t offset = kPrefixBytes + header_bytes;
  Checkpoint c;
  // Every count is checked against the bytes that remain before it is used.
  for (auto* values : arrays_of(c.state)) {
    if (offset + 8 > end) throw fail("truncated checkpoint");
    const auto count = binary::read_at<std::uint64_t>(all, offset);
    offset += 8;
    if (count > (end - offset) / 4) throw fail("truncated checkpoint");
    values->resize(static_cast<std::size_t>(count));
    std::copy_n(all.data() + offset, 4 * values->size(), reinterpret_cast<std::uint8_t*>(values->data()));
    offset += 4 * values->size();
  }
  if (offset != end) throw fail("unexpected bytes after the saved state");
  try {
    const auto* text = reinterpret_cast<const char*>(all.data() + kPrefixBytes);
    const nlohmann::json header = nlohmann::json::parse(text, text + header_bytes);
    c.config = config_from_json(header.at("config"));
    c.state.history = epochs_from_json(header.at("history"));
    progress_from_json(header.at("progress"), c.state);
    const auto& notes = header.at("notes");
    c.data = notes.at("data").get<std::string>();
    c.data_fingerprint = notes.at("data_fingerprint").get<std::string>();
    c.preset = notes.at("preset").get<std::string>();
    c.train_seconds = notes.at("train_seconds").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("bad checkpoint header: {}", describe(e)));
  } catch (const ConfigError& e) {
    throw fail(fmt::format("bad checkpoint header: {}", e.what()));
  }
  return c;
}

}  // namespace bpnet
