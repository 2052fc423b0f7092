// A kvcpu-cosim child process, so tests and the benchmark drive the real server binary.
//
//   start(): a server on a fresh socket in a private temp directory, ready to serve
//            (its "listening" line seen); the directory is removed with the object.
//   spawn(): any command line, for tests of the server's own start-up and exit paths.
//
// The process is stopped (SIGTERM, then SIGKILL after a grace period) and reaped when the
// object is destroyed, whatever happened before.
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

  // Runs `binary args...` with stdout on a pipe (read it with first_line()) and stderr
  // appended to `stderr_path` (inherited when empty). Empty optional if fork/pipe failed.
  static std::optional<CosimProcess> spawn(const std::string& binary,
                                           const std::vector<std::string>& args,
                                           const std::string& stderr_path, std::string* error);

  CosimProcess(CosimProcess&& o) noexcept;
  CosimProcess& operator=(CosimProcess&&) = delete;
  CosimProcess(const CosimProcess&) = delete;
  CosimProcess& operator=(const CosimProcess&) = delete;
  ~CosimProcess();

  const std::string& socket_path() const { return socket_; }
  std::string uri() const { return "cosim:" + socket_; }
  pid_t pid() const { return pid_; }

  // The first line the process wrote on stdout, without its newline; what it wrote so far
  // if it closed stdout or `timeout` passed first.
  std::string first_line(std::chrono::milliseconds timeout);
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status as waitpid's
  // status word (use WIFEXITED/WEXITSTATUS), or -1 if it was already reaped.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // Wait for the process to exit by itself (e.g. after SHUTDOWN); waitpid's status word,
  // or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);

 private:
  CosimProcess(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}

  pid_t pid_ = -1;
  int out_fd_ = -1;   // read end of the child's stdout
  std::string dir_;   // private temp directory (start() only)
  std::string socket_;
};

}  // namespace kvcpu
