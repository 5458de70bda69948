#include "launch.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "cloze/core/error.h"
#include "cloze/distributed/world.h"

namespace cloze_cli {

namespace {

volatile sig_atomic_t pending_signal = 0;

void remember_signal(int signal) { pending_signal = signal; }

pid_t start_worker(const std::filesystem::path& self, const std::vector<std::string>& arguments, int rank,
                   int workers, int port) {
  const pid_t pid = ::fork();
  if (pid < 0) throw cloze::Error(std::string("--nproc: cannot start a worker: ") + std::strerror(errno));
  if (pid > 0) return pid;
  // The worker: in its own process group, so that Ctrl-C reaches it once,
  // through the launcher, and not a second time from the terminal.
  ::setpgid(0, 0);
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  const auto set = [](const char* name, int value) { ::setenv(name, std::to_string(value).c_str(), 1); };
  set("RANK", rank);
  set("LOCAL_RANK", rank);
  set("WORLD_SIZE", workers);
  set("LOCAL_WORLD_SIZE", workers);
  set("MASTER_PORT", port);
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  std::vector<char*> argv;
  const std::string program = self.string();
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  std::perror("cloze --nproc: cannot run the worker");
  ::_exit(127);
}

int exit_status(int wait_status) {
  return WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
}

}  // namespace

int launch_local_workers(const std::filesystem::path& self, const std::vector<std::string>& arguments, int workers) {
  if (workers < 1) throw cloze::Error("--nproc " + std::to_string(workers) + ": needs at least 1 worker");
  struct sigaction on_signal{};
  on_signal.sa_handler = remember_signal;
  ::sigaction(SIGINT, &on_signal, nullptr);
  ::sigaction(SIGTERM, &on_signal, nullptr);

  const int port = cloze::free_local_port();
  std::vector<pid_t> running;
  for (int rank = 0; rank < workers; ++rank) running.push_back(start_worker(self, arguments, rank, workers, port));

  using clock = std::chrono::steady_clock;
  int status = 0;
  bool stopping = false;  // a signal was forwarded: the workers' exits with 128 + N are expected
  std::optional<clock::time_point> killing_at;  // when the survivors of a failure get SIGKILL
  while (!running.empty()) {
    if (const int signal = pending_signal; signal != 0) {
      pending_signal = 0;
      for (const pid_t pid : running) ::kill(pid, signal);  // a second one stops them at once, as it would one
      if (status == 0) status = 128 + signal;
      stopping = true;
    }
    if (killing_at && clock::now() >= *killing_at)
      for (const pid_t pid : running) ::kill(pid, SIGKILL);
    int wait_status = 0;
    const pid_t done = ::waitpid(-1, &wait_status, WNOHANG);
    if (done <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    running.erase(std::remove(running.begin(), running.end(), done), running.end());
    if (exit_status(wait_status) == 0 || stopping || killing_at) continue;
    // A failed rank leaves the others waiting in a collective: ask them to
    // stop, and end them if they cannot within the grace period.
    if (status == 0) status = exit_status(wait_status);
    for (const pid_t pid : running) ::kill(pid, SIGTERM);
    killing_at = clock::now() + std::chrono::seconds(10);
  }
  return status;
}

}  // namespace cloze_cli
