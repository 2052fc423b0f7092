#include "cosim_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

namespace kvcpu {

std::optional<CosimProcess> CosimProcess::start(const std::string& server_binary,
                                                const std::vector<std::string>& extra_args,
                                                std::string* error,
                                                std::chrono::milliseconds timeout) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kvcpu-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    *error = std::string("mkdtemp: ") + std::strerror(errno);
    return std::nullopt;
  }
  const std::string sock = tmpl + "/kvcpu.sock";
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::vector<std::string> args = {server_binary, "--socket", sock, "--quiet"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    close(out[0]);
    close(out[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  CosimProcess proc(pid, tmpl, sock);

  // Wait for "kvcpu-cosim: listening on <sock>".
  std::string seen;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (seen.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{out[0], POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      *error = "kvcpu-cosim did not report ready within " + std::to_string(timeout.count()) + " ms";
      close(out[0]);
      return std::nullopt;
    }
    char buf[256];
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) {
      *error = "kvcpu-cosim exited before it was ready (" + server_binary + ")";
      close(out[0]);
      return std::nullopt;
    }
    seen.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  if (seen.find("listening on " + sock) == std::string::npos) {
    *error = "unexpected first line from kvcpu-cosim: " + seen;
    return std::nullopt;
  }
  return proc;
}

CosimProcess::CosimProcess(CosimProcess&& o) noexcept
    : pid_(o.pid_), dir_(std::move(o.dir_)), socket_(std::move(o.socket_)) {
  o.pid_ = -1;
  o.dir_.clear();
}

CosimProcess::~CosimProcess() {
  stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

int CosimProcess::wait(std::chrono::milliseconds timeout) {
  if (pid_ < 0) {
    return -1;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return status;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int CosimProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ < 0) {
    return -1;
  }
  kill(pid_, SIGTERM);
  int status = wait(grace);
  if (status == -1 && pid_ >= 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  return status;
}

}  // namespace kvcpu
