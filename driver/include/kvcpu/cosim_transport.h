// Transport to the cosim server (kvcpu-cosim) over an AF_UNIX stream socket.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kvcpu/result.h"
#include "kvcpu/status.h"
#include "kvcpu/transport.h"
#include "kvcpu_proto.h"

namespace kvcpu {

struct CosimOptions {
  // Upper bound for every blocking receive/send, so a stuck server never hangs the caller.
  std::chrono::milliseconds timeout{10000};
};

// Blocking, one request in flight at a time. Every reply is checked with
// proto::check_reply_header and the body decoders, and must carry the request's seq.
// After any connection or protocol failure the transport is dead: the socket is closed
// and every later call returns ErrorCode::kConnection at once.
class CosimTransport final : public Transport {
 public:
  // Connects to the server's socket and performs the HELLO exchange.
  static Result<std::unique_ptr<CosimTransport>> connect(const std::string& path,
                                                         CosimOptions options = {});
  // Takes ownership of a connected stream socket (e.g. one end of a socketpair) and
  // performs the HELLO exchange. The fd is closed on failure too.
  static Result<std::unique_ptr<CosimTransport>> adopt(int fd, std::string name,
                                                       CosimOptions options = {});

  ~CosimTransport() override;

  Result<uint32_t> read32(uint32_t bar, uint32_t offset) override;
  Status write32(uint32_t bar, uint32_t offset, uint32_t value) override;
  Status write32_posted(uint32_t bar, uint32_t offset, uint32_t value) override;
  Status reset() override;
  std::string describe() const override;

  // Host memory and interrupts (protocol 1.1; kUnsupported against a 1.0 server). The fd
  // travels with the request (SCM_RIGHTS); the caller keeps its own. A request the server
  // refuses is kInvalidArgument with the server's reason, and the connection stays up.
  Status map_memory(int fd, uint64_t iova, uint64_t size, uint64_t fd_offset) override;
  Status unmap_memory(uint64_t iova) override;
  Status bind_irq(uint32_t irq_id, int eventfd) override;
  Status unbind_irq(uint32_t irq_id) override;

  // Server counters (STATS): the 1.1 host-memory/interrupt counters stay 0 on a 1.0 server.
  Result<proto::Stats> stats();
  // What the server answered to HELLO.
  const proto::HelloReply& hello() const { return hello_; }
  // Simulated time carried by the last reply.
  const proto::SimTime& sim_time() const { return sim_time_; }
  bool alive() const { return fd_ >= 0; }
  // Changes the receive/send timeout for later calls.
  Status set_timeout(std::chrono::milliseconds timeout);

 private:
  CosimTransport(int fd, std::string name, CosimOptions options);

  Status handshake();
  // `fd` >= 0 is sent along with the message's bytes (SCM_RIGHTS).
  Status send_request(proto::MsgType type, std::span<const uint8_t> body, int fd = -1);
  // Sends a request and receives its reply body (after the SimTime prefix).
  Result<std::vector<uint8_t>> call(proto::MsgType type, std::span<const uint8_t> body,
                                    int fd = -1);
  // A 1.1 request with an empty reply.
  Status call_host(proto::MsgType type, std::span<const uint8_t> body, int fd = -1);
  // Minor version both sides speak (the server's HELLO minor, at most ours).
  uint16_t minor() const;
  Result<std::vector<uint8_t>> receive_reply(proto::MsgType type, uint32_t seq);
  Status recv_all(uint8_t* data, size_t size);
  // Closes the socket, remembers why; returns `why`.
  Status fail(Status why);
  Status dead_status() const;

  int fd_ = -1;
  std::string name_;
  CosimOptions options_;
  uint32_t next_seq_ = 1;
  proto::HelloReply hello_;
  proto::SimTime sim_time_;
  Status death_;
};

}  // namespace kvcpu
