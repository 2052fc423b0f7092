// Reference model of the hif queue engine, written from docs/hif.md (not from the RTL).
//
// Per queue the engine consumes SQEs in ring order and, with one command in flight, posts
// their CQEs in the same order, except the deferred ones: a forwarded command whose
// completion the executor defers is posted when its deferred completion (acpl) is taken,
// in the order those are taken. The n-th CQE posted to queue q (counting from the last
// reset) goes to CQ slot n mod 2^k with phase 1 ^ ((n >> k) & 1). An in-order CQE of the
// j-th command reports sq_head (j + 1) mod 2^k; a deferred one the SQ head when its acpl
// was taken (some count of fetched commands in j+1 .. submitted, mod 2^k). Its status
// follows from its fields, its result from the executor when it was forwarded.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <deque>
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
    q_[q].cmds.push_back(Entry{s, classify(s, fetch_err), false, false, 0, 0, 0, 0});
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

  // The executor completed q's forwarded command; deferred: no CQE until on_acpl().
  // Returns the command's index within the queue.
  size_t on_cpl(unsigned q, uint16_t status, uint32_t result, uint64_t cycle, bool deferred = false) {
    Entry& e = q_[q].cmds[q_[q].awaiting];
    e.t_cpl = cycle;
    e.executed = !deferred;
    e.deferred = deferred;
    e.exec_status = status;
    e.exec_result = result;
    return q_[q].awaiting;
  }
  // The deferred completion of command i of queue q was taken by the engine.
  void on_acpl(unsigned q, size_t i, uint16_t status, uint32_t result, uint64_t t_done) {
    Entry& e = q_[q].cmds[i];
    e.executed = true;
    e.exec_status = status;
    e.exec_result = result;
    e.t_cpl = t_done;
    q_[q].acpl.push_back(i);
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
    bool deferred = false;  // posted from acpl; sq_head is any fetched count (sq_head_ok())
  };
  // The CQE q's next CQ slot may hold: the next in-order one (deferred = false), or the
  // oldest deferred completion taken and not yet consumed (deferred = true).
  std::optional<Expect> next_cqe(unsigned q, bool deferred = false) const {
    const Queue& Q = q_[q];
    size_t j = Q.inorder;
    if (deferred) {
      if (Q.acpl.empty()) return std::nullopt;
      j = Q.acpl.front();
    } else {
      while (j < Q.cmds.size() && Q.cmds[j].deferred) ++j;
      if (j >= Q.cmds.size()) return std::nullopt;
    }
    const Entry& e = Q.cmds[j];
    const uint64_t size = 1ull << Q.size_log2;
    const uint64_t n = Q.completed;
    Expect x{static_cast<uint32_t>(n % size), Cqe{}, e.kind, e.sqe, e.t_cmd, e.t_cpl, j, deferred};
    x.cqe.phase = ((n >> Q.size_log2) & 1) == 0;
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
  // A deferred CQE's sq_head: the engine's SQ head when the acpl was taken.
  bool sq_head_ok(unsigned q, const Expect& x, uint16_t sq_head) const {
    const Queue& Q = q_[q];
    const uint64_t size = 1ull << Q.size_log2;
    for (uint64_t f = x.index + 1; f <= Q.cmds.size() && f <= x.index + size; ++f) {
      if (f % size == sq_head) return true;
    }
    return false;
  }
  void consumed(unsigned q, const Expect& x) {
    Queue& Q = q_[q];
    ++Q.completed;
    if (x.deferred) {
      Q.acpl.pop_front();
    } else {
      Q.inorder = x.index + 1;
    }
  }
  uint64_t deferred_waiting(unsigned q) const { return q_[q].acpl.size(); }
  uint64_t submitted(unsigned q) const { return q_[q].cmds.size(); }
  uint64_t completed(unsigned q) const { return q_[q].completed; }

 private:
  struct Entry {
    Sqe sqe;
    Kind kind;
    bool executed;
    bool deferred = false;
    uint16_t exec_status;
    uint32_t exec_result;
    uint64_t t_cmd, t_cpl;
  };
  struct Queue {
    unsigned size_log2 = 1;
    std::vector<Entry> cmds;
    uint64_t completed = 0;  // CQEs consumed
    size_t inorder = 0;      // where the next in-order CQE's command is looked for
    std::deque<size_t> acpl; // deferred completions taken, not yet consumed
    size_t fwd_scan = 0;
    size_t awaiting = 0;
  };
  std::vector<Queue> q_;
};

}  // namespace kvcpu::tb
