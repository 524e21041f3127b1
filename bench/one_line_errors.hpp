// main() of a benchmark tool: a missing data folder, a malformed file or a
// bad argument (anything run() throws) is one line on stderr, "tool: what",
// and exit 1, not an uncaught exception's abort.
#pragma once

#include <cstdio>
#include <exception>

template <typename Run>
int run_with_one_line_errors(const char* tool, Run run, int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", tool, e.what());
    return 1;
  }
}
