// Running the bpnet command from a test (BPNET_CLI_PATH, set by CMake for
// the tests that use it): its exit code and what it printed.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace bpnet {

struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs bpnet with these arguments, from the folder `cwd` if one is given.
inline Outcome run_bpnet(const std::string& arguments, const std::string& cwd = "") {
  const std::string command =
      (cwd.empty() ? "" : "cd " + cwd + " && ") + std::string(BPNET_CLI_PATH) + " " + arguments + " 2>&1";
  Outcome outcome;
  FILE* pipe = ::popen(command.c_str(), "r");
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) outcome.output.append(buffer, n);
  const int status = ::pclose(pipe);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

inline void expect_failure(const std::string& arguments, int code, const std::string& part) {
  const Outcome outcome = run_bpnet(arguments);
  EXPECT_EQ(outcome.exit_code, code) << arguments << "\n" << outcome.output;
  EXPECT_NE(outcome.output.find(part), std::string::npos) << arguments << "\n" << outcome.output;
}

}  // namespace bpnet
