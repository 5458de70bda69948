// SIGINT and SIGTERM while training: the first asks the loop to stop after the
// current step, save a checkpoint and return; a second ends the process at
// once with the signal's default action. That cannot harm a checkpoint: one
// only ever appears by rename, whole (cloze/durable_file.h).
#pragma once

namespace cloze {

// Installs the handlers for its lifetime and restores the previous ones after.
// One at a time per process.
class StopOnSignal {
 public:
  StopOnSignal();
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

  // The signal that asked to stop, 0 while none has.
  int received() const;
};

}  // namespace cloze
