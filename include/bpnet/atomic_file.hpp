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

// Checks, before long work starts, that files can be written there later:
// creates missing parent folders, refuses a target that exists and is not a
// regular file, and proves the folder writable by creating and removing a
// temporary file in it. Throws WriteError naming the path and the reason.
void prepare_output_file(const std::filesystem::path& path);
// The same for a folder that files will be written into (created if missing).
void prepare_output_folder(const std::filesystem::path& folder);

}  // namespace bpnet
