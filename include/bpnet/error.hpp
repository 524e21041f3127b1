// The one exception hierarchy of the library. Library code never exits or
// prints; it throws one of these, and the command line catches at main.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace bpnet {

// Base of every failure bpnet reports. what() is one line meant for a user.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An option value or combination that makes no sense (batch 0, lr < 0,
// layers that do not fit the data). The command line exits 2 for these.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A data file that is missing, malformed or inconsistent with its partner.
// The message names the file, the byte offset, what was expected and found.
class DataError : public Error {
 public:
  DataError(const std::string& file, std::uint64_t offset, const std::string& expected,
            const std::string& found);
  // A problem that is about the file as a whole rather than one position.
  DataError(const std::string& file, const std::string& problem);

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

// A model file that cannot be read (bad magic, newer version, checksum...).
class ModelFileError : public Error {
 public:
  ModelFileError(const std::string& file, const std::string& problem);
};

// A file that could not be written; the previous content stays intact.
class WriteError : public Error {
 public:
  WriteError(const std::string& file, const std::string& problem);
};

// Training produced a NaN or infinite loss or parameter.
class DivergenceError : public Error {
 public:
  using Error::Error;
};

}  // namespace bpnet
