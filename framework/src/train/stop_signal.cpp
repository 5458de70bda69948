#include "cloze/train/stop_signal.h"

#include <signal.h>

#include <csignal>

namespace cloze {
namespace {

volatile std::sig_atomic_t received_signal = 0;
struct sigaction previous_interrupt, previous_terminate;

// Async-signal-safe: only sets a flag, or on the second signal restores the
// default action and raises it again.
void on_signal(int number) {
  if (received_signal != 0) {
    ::signal(number, SIG_DFL);
    ::raise(number);
    return;
  }
  received_signal = number;
}

}  // namespace

StopOnSignal::StopOnSignal() {
  received_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking reads and writes carry on; the loop checks between steps
  ::sigaction(SIGINT, &action, &previous_interrupt);
  ::sigaction(SIGTERM, &action, &previous_terminate);
}

StopOnSignal::~StopOnSignal() {
  ::sigaction(SIGINT, &previous_interrupt, nullptr);
  ::sigaction(SIGTERM, &previous_terminate, nullptr);
}

int StopOnSignal::received() const { return received_signal; }

}  // namespace cloze
