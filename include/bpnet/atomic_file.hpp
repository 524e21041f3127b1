// Saving without ever losing what was there: write a temporary file in the
// same folder, flush it to disk, then rename it over the target in one step.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

namespace bpnet {

// Replaces `path` with `bytes` atomically. Refuses to replace anything that
// is not a regular file (a device, a folder). On any failure throws
// WriteError naming the path and the reason, and the previous file is intact.
void write_file_atomically(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);
void write_file_atomically(const std::filesystem::path& path, std::string_view text);

}  // namespace bpnet
