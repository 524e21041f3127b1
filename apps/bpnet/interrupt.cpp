#include "interrupt.hpp"

#include <signal.h>
#include <unistd.h>

namespace bpnet::cli {
namespace {

std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the flag is set from a signal handler");

void on_signal(int) {
  if (stop_requested.exchange(true)) {
    constexpr char kMessage[] = "\nbpnet: interrupted again, exiting now\n";
    (void)!::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    ::_exit(kInterruptedExitCode);
  }
  constexpr char kMessage[] = "\nbpnet: stopping after this batch (press Ctrl-C again to quit at once)\n";
  (void)!::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}

}  // namespace

const std::atomic<bool>& install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  return stop_requested;
}

}  // namespace bpnet::cli
