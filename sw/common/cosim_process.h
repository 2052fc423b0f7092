// Starts kvcpu-cosim as a child process on a fresh socket in a private temp directory,
// waits for its "listening" line, and stops it (SHUTDOWN-free: SIGTERM, then SIGKILL after
// a grace period) when asked or when destroyed. Used by the end-to-end tests and the
// benchmark, so they drive the real server binary.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace kvcpu {

class CosimProcess {
 public:
  // Empty optional (and a message in *error) if the server did not come up in `timeout`.
  static std::optional<CosimProcess> start(const std::string& server_binary,
                                           const std::vector<std::string>& extra_args,
                                           std::string* error,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(20));

  CosimProcess(CosimProcess&& o) noexcept;
  CosimProcess& operator=(CosimProcess&&) = delete;
  CosimProcess(const CosimProcess&) = delete;
  CosimProcess& operator=(const CosimProcess&) = delete;
  ~CosimProcess();

  const std::string& socket_path() const { return socket_; }
  std::string uri() const { return "cosim:" + socket_; }
  pid_t pid() const { return pid_; }

  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status as waitpid's
  // status word (use WIFEXITED/WEXITSTATUS), or -1 if it was already reaped.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // Wait for the process to exit by itself (e.g. after SHUTDOWN); -1 on timeout.
  int wait(std::chrono::milliseconds timeout);

 private:
  CosimProcess(pid_t pid, std::string dir, std::string socket)
      : pid_(pid), dir_(std::move(dir)), socket_(std::move(socket)) {}

  pid_t pid_ = -1;
  std::string dir_;
  std::string socket_;
};

}  // namespace kvcpu
