// kvcpu-cosim: serves the BAR0 of the verilated kvcpu_core to one driver at a time over a
// Unix-domain socket. Protocol and behaviour: docs/cosim-protocol.md.
//
// Single-threaded: one Boost.Asio io_context runs the acceptor, the attached client, the
// refusals of further clients, the signal handler and the simulation itself (every request
// is executed to completion in its handler, so requests are applied in arrival order).
// While the device is busy (busy_o), the clock also runs ahead between requests, in slices
// posted to the same io_context, so the socket is polled every few hundred cycles.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "ssd_model.h"

#include "axi_host_slave.h"

namespace kvcpu::cosim {

class Session;  // one attached client (server.cc)

struct ServerOptions {
  std::string socket_path;                      // Unix-domain socket to listen on
  std::string trace_path;                       // FST waveform file; empty: no waves
  std::chrono::milliseconds msg_timeout{2000};  // first byte of a message to its last
  bool quiet = false;                           // no per-connection log lines on stderr
  AxiSlaveOptions axi;                          // host-memory latency/backpressure (tests)
  uint32_t drop_irq = 0;                        // drop every Nth MSI-X message; 0: none
  nvme::SsdFaults ssd_faults;                   // fault injection at the NVMe port's SSD
  bool ssd_preconditioned = false;              // reads of unwritten blocks read flash too
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // closes every connection and removes the socket file if it created it

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Builds the device (and resets it), then creates the listening socket with mode 0600.
  // A stale socket file at the path is replaced; a live one (something accepts there) is
  // left alone. Returns an error message, or std::nullopt once listening.
  [[nodiscard]] std::optional<std::string> listen();

  // Serves until SHUTDOWN, SIGINT or SIGTERM, then closes everything and removes the
  // socket file. Exceptions from Asio or the model close the affected connection only.
  void run();

 private:
  friend class Session;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kvcpu::cosim
