// Ctrl-C and SIGTERM during training: the first asks training to stop after
// the batch in hand (so a checkpoint can be written); the second exits at
// once with status 130. Files are only ever replaced by rename, so an exit at
// any moment leaves every file either old or new, never half-written.
#pragma once

#include <atomic>

namespace bpnet::cli {

// Installs the handlers (once) and returns the flag they raise.
const std::atomic<bool>& install_interrupt_handlers();

// What a first signal interrupts, for its message: training stops after the
// batch in hand; once training is over, the results are finished (seconds).
enum class InterruptPhase { training, finishing };
void set_interrupt_phase(InterruptPhase phase);

inline constexpr int kInterruptedExitCode = 130;

}  // namespace bpnet::cli
