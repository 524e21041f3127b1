#include "interrupt.hpp"

#include <signal.h>
#include <unistd.h>

namespace bpnet::cli {
namespace {

std::atomic<bool> stop_requested{false};
std::atomic<bool> finishing{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the flags are read in a signal handler");

// Only write(2) is safe in a handler: the messages are fixed strings.
void say(const char* text, std::size_t size) { (void)!::write(STDERR_FILENO, text, size); }
#define BPNET_SAY(text) say(text, sizeof(text) - 1)

void on_signal(int signal) {
  const bool term = signal == SIGTERM;
  if (stop_requested.exchange(true)) {
    BPNET_SAY("\nbpnet: interrupted again, exiting now\n");
    ::_exit(kInterruptedExitCode);
  }
  if (finishing.load()) {
    if (term) BPNET_SAY("\nbpnet: SIGTERM: training is done; writing its results (send it again to quit at once)\n");
    else BPNET_SAY("\nbpnet: training is done; writing its results (press Ctrl-C again to quit at once)\n");
  } else if (term) {
    BPNET_SAY("\nbpnet: SIGTERM: stopping after this batch to write a checkpoint (send it again to quit at once)\n");
  } else {
    BPNET_SAY("\nbpnet: stopping after this batch to write a checkpoint (press Ctrl-C again to quit at once)\n");
  }
}

#undef BPNET_SAY

}  // namespace

const std::atomic<bool>& install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  return stop_requested;
}

void set_interrupt_phase(InterruptPhase phase) { finishing = phase == InterruptPhase::finishing; }

}  // namespace bpnet::cli
