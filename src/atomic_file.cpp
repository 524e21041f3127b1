#include "bpnet/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "bpnet/error.hpp"

namespace bpnet {
namespace {

// Closes and unlinks the temporary file unless it was renamed into place.
class TemporaryFile {
 public:
  explicit TemporaryFile(std::string pattern) : path_(std::move(pattern)) {
    fd_ = ::mkstemp(path_.data());
  }
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(path_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }
  void mark_renamed() { renamed_ = true; }

 private:
  std::string path_;
  int fd_ = -1;
  bool renamed_ = false;
};

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what, int error) {
  throw WriteError(path.string(), fmt::format("{}: {}", what, std::strerror(error)));
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(path, ec);
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    throw WriteError(path.string(), "it exists and is not a regular file; refusing to replace it");
  }
  const std::filesystem::path folder = path.parent_path().empty() ? "." : path.parent_path();
  if (!std::filesystem::is_directory(folder, ec)) {
    throw WriteError(path.string(), fmt::format("folder {} does not exist", folder.string()));
  }
  TemporaryFile temp((folder / fmt::format(".{}.tmp-XXXXXX", path.filename().string())).string());
  if (temp.fd() < 0) fail(path, fmt::format("cannot create a temporary file in {}", folder.string()), errno);
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(temp.fd(), bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(path, "write failed", n < 0 ? errno : ENOSPC);
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(temp.fd()) != 0) fail(path, "flush to disk failed", errno);
  ::fchmod(temp.fd(), 0644);
  if (temp.close() != 0) fail(path, "close failed", errno);
  if (std::rename(temp.path().c_str(), path.c_str()) != 0) fail(path, "rename failed", errno);
  temp.mark_renamed();
}

namespace {

// Creates `folder` if missing and proves it writable; `target` names what the
// caller wants to write, for the message.
void probe_folder(const std::filesystem::path& folder, const std::filesystem::path& target) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec || !std::filesystem::is_directory(folder, ec)) {
    throw WriteError(target.string(), fmt::format("cannot create folder {}: {}", folder.string(),
                                                  ec ? ec.message() : "a file of that name is in the way"));
  }
  TemporaryFile probe((folder / ".bpnet-write-test-XXXXXX").string());
  if (probe.fd() < 0) fail(target, fmt::format("cannot write in {}", folder.string()), errno);
}

}  // namespace

void prepare_output_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(path, ec);
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    throw WriteError(path.string(), std::filesystem::is_directory(status)
                                        ? "it is a folder; give a file name"
                                        : "it exists and is not a regular file; refusing to replace it");
  }
  probe_folder(path.parent_path().empty() ? "." : path.parent_path(), path);
}

void prepare_output_folder(const std::filesystem::path& folder) { probe_folder(folder, folder); }

void write_file_atomically(const std::filesystem::path& path, std::string_view text) {
  write_file_atomically(
      path, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace bpnet
