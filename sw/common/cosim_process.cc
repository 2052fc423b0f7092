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

std::optional<CosimProcess> CosimProcess::spawn(const std::string& binary,
                                                const std::vector<std::string>& args,
                                                const std::string& stderr_path,
                                                std::string* error) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::vector<std::string> all = {binary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) {
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
    if (!stderr_path.empty()) {
      const int e = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (e >= 0) {
        dup2(e, STDERR_FILENO);
      }
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  return CosimProcess(pid, out[0]);
}

std::optional<CosimProcess> CosimProcess::start(const std::string& server_binary,
                                                const std::vector<std::string>& extra_args,
                                                std::string* error,
                                                std::chrono::milliseconds timeout) {
  std::string dir = (std::filesystem::temp_directory_path() / "kvcpu-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) {
    *error = std::string("mkdtemp: ") + std::strerror(errno);
    return std::nullopt;
  }
  const std::string sock = dir + "/kvcpu.sock";
  std::vector<std::string> args = {"--socket", sock, "--quiet"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  auto proc = spawn(server_binary, args, "", error);
  if (!proc) {
    std::filesystem::remove_all(dir);
    return std::nullopt;
  }
  proc->dir_ = dir;  // removed with the process object from here on
  proc->socket_ = sock;
  const std::string line = proc->first_line(timeout);
  if (line != "kvcpu-cosim: listening on " + sock) {
    *error = line.empty() ? "kvcpu-cosim (" + server_binary + ") did not report ready within " +
                                std::to_string(timeout.count()) + " ms"
                          : "unexpected first line from kvcpu-cosim: " + line;
    return std::nullopt;
  }
  return proc;
}

CosimProcess::CosimProcess(CosimProcess&& o) noexcept
    : pid_(o.pid_), out_fd_(o.out_fd_), dir_(std::move(o.dir_)), socket_(std::move(o.socket_)) {
  o.pid_ = -1;
  o.out_fd_ = -1;
  o.dir_.clear();
}

CosimProcess::~CosimProcess() {
  stop();
  if (out_fd_ >= 0) {
    close(out_fd_);
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string CosimProcess::first_line(std::chrono::milliseconds timeout) {
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out_fd_ >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{out_fd_, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      break;
    }
    char c;
    if (read(out_fd_, &c, 1) != 1 || c == '\n') {
      break;
    }
    line.push_back(c);
  }
  return line;
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
