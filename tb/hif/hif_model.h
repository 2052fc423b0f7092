// Reference model of the hif queue engine, written from docs/hif.md (not from the RTL).
//
// Per queue the engine consumes SQEs in ring order and, with one command in flight, posts
// their CQEs in the same order. So the j-th command submitted to queue q (counting from
// the last reset) completes into CQ slot j mod 2^k with phase 1 ^ ((j >> k) & 1) and
// reports sq_head (j + 1) mod 2^k. Its status follows from its fields, its result from the
// executor when it was forwarded.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace kvcpu::tb {

enum HifStatus : uint16_t {
  kStSuccess = 0,
  kStInvalidOpcode = 1,
  kStInvalidField = 2,
  kStFetchError = 3,
};

struct Sqe {
  std::array<uint8_t, 64> b{};
  uint8_t opcode() const { return b[0]; }
  uint8_t flags() const { return b[1]; }
  uint16_t cid() const { return static_cast<uint16_t>(b[2] | (b[3] << 8)); }
  uint32_t flow_id() const { return le32(4); }
  uint8_t rsvd() const { return b[11]; }
  uint32_t le32(int o) const {
    return static_cast<uint32_t>(b[o]) | (static_cast<uint32_t>(b[o + 1]) << 8) |
           (static_cast<uint32_t>(b[o + 2]) << 16) | (static_cast<uint32_t>(b[o + 3]) << 24);
  }
};

struct Cqe {
  uint32_t result = 0;
  uint32_t flow_id = 0;
  uint16_t sq_head = 0;
  uint16_t sq_id = 0;
  uint16_t cid = 0;
  uint16_t status = 0;  // 15 bits
  bool phase = false;

  static Cqe from_bytes(const uint8_t* p) {
    auto le16 = [p](int o) { return static_cast<uint16_t>(p[o] | (p[o + 1] << 8)); };
    Cqe c;
    c.result = static_cast<uint32_t>(le16(0)) | (static_cast<uint32_t>(le16(2)) << 16);
    c.flow_id = static_cast<uint32_t>(le16(4)) | (static_cast<uint32_t>(le16(6)) << 16);
    c.sq_head = le16(8);
    c.sq_id = le16(10);
    c.cid = le16(12);
    c.status = static_cast<uint16_t>(le16(14) >> 1);
    c.phase = (p[14] & 1) != 0;
    return c;
  }
  bool operator==(const Cqe&) const = default;
  std::string str() const {
    char s[160];
    std::snprintf(s, sizeof s, "{result=%08x flow=%08x sq_head=%u sq_id=%u cid=%04x status=%u phase=%d}",
                  result, flow_id, sq_head, sq_id, cid, status, phase ? 1 : 0);
    return s;
  }
};

class HifRefModel {
 public:
  enum class Kind { kNop, kInvalidField, kFetchError, kForward };

  void reset(unsigned num_queues) { q_.assign(num_queues, Queue{}); }
  void configure(unsigned q, unsigned size_log2) { q_[q].size_log2 = size_log2; }

  static Kind classify(const Sqe& s, bool fetch_err) {
    if (fetch_err) return Kind::kFetchError;
    if (s.flags() != 0 || s.rsvd() != 0 || s.b[10] > 4) return Kind::kInvalidField;  // io_class 0..4
    if (s.opcode() == 0x00) return Kind::kNop;
    return Kind::kForward;
  }

  // The host wrote a command into the next SQ slot (fetch_err: its fetch will fail).
  void submit(unsigned q, const Sqe& s, bool fetch_err) {
    q_[q].cmds.push_back(Entry{s, classify(s, fetch_err), false, 0, 0, 0, 0});
  }

  // A command came out on cmd for queue q: it must be q's next forwarded command.
  std::optional<std::string> on_cmd(unsigned q, const Sqe& got, uint64_t cycle) {
    Queue& Q = q_[q];
    while (Q.fwd_scan < Q.cmds.size() && Q.cmds[Q.fwd_scan].kind != Kind::kForward) {
      ++Q.fwd_scan;
    }
    if (Q.fwd_scan >= Q.cmds.size()) return "cmd on queue " + std::to_string(q) + " with no forwardable command";
    if (Q.cmds[Q.fwd_scan].sqe.b != got.b) {
      return "cmd on queue " + std::to_string(q) + ": SQE differs from command #" + std::to_string(Q.fwd_scan);
    }
    Q.cmds[Q.fwd_scan].t_cmd = cycle;
    Q.awaiting = Q.fwd_scan++;
    return std::nullopt;
  }

  // The executor completed q's forwarded command.
  void on_cpl(unsigned q, uint16_t status, uint32_t result, uint64_t cycle) {
    Entry& e = q_[q].cmds[q_[q].awaiting];
    e.t_cpl = cycle;
    e.executed = true;
    e.exec_status = status;
    e.exec_result = result;
  }

  // What the host must find in q's CQ next: the slot and the CQE, or nothing when every
  // submitted command has been completed (or a forwarded one was never executed).
  struct Expect {
    uint32_t slot;
    Cqe cqe;
    Kind kind;
    Sqe sqe;              // as submitted
    uint64_t t_cmd = 0;   // forwarded: cycles of the cmd and cpl handshakes
    uint64_t t_cpl = 0;
    uint64_t index = 0;   // the command's number within its queue
  };
  std::optional<Expect> next_cqe(unsigned q) const {
    const Queue& Q = q_[q];
    const uint64_t j = Q.completed;
    if (j >= Q.cmds.size()) return std::nullopt;
    const Entry& e = Q.cmds[j];
    const uint64_t size = 1ull << Q.size_log2;
    Expect x{static_cast<uint32_t>(j % size), Cqe{}, e.kind, e.sqe, e.t_cmd, e.t_cpl, j};
    x.cqe.phase = ((j >> Q.size_log2) & 1) == 0;
    x.cqe.sq_head = static_cast<uint16_t>((j + 1) % size);
    x.cqe.sq_id = static_cast<uint16_t>(q);
    switch (e.kind) {
      case Kind::kFetchError:
        x.cqe.status = kStFetchError;
        break;
      case Kind::kInvalidField:
        x.cqe.status = kStInvalidField;
        x.cqe.cid = e.sqe.cid();
        x.cqe.flow_id = e.sqe.flow_id();
        break;
      case Kind::kNop:
        x.cqe.status = kStSuccess;
        x.cqe.cid = e.sqe.cid();
        x.cqe.flow_id = e.sqe.flow_id();
        break;
      case Kind::kForward:
        if (!e.executed) return std::nullopt;
        x.cqe.status = e.exec_status;
        x.cqe.result = e.exec_result;
        x.cqe.cid = e.sqe.cid();
        x.cqe.flow_id = e.sqe.flow_id();
        break;
    }
    return x;
  }
  void consumed(unsigned q) { ++q_[q].completed; }
  uint64_t submitted(unsigned q) const { return q_[q].cmds.size(); }
  uint64_t completed(unsigned q) const { return q_[q].completed; }

 private:
  struct Entry {
    Sqe sqe;
    Kind kind;
    bool executed;
    uint16_t exec_status;
    uint32_t exec_result;
    uint64_t t_cmd, t_cpl;
  };
  struct Queue {
    unsigned size_log2 = 1;
    std::vector<Entry> cmds;
    uint64_t completed = 0;
    size_t fwd_scan = 0;
    size_t awaiting = 0;
  };
  std::vector<Queue> q_;
};

}  // namespace kvcpu::tb
