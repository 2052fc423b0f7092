#include "server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <exception>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

// clang-format off
// After the standard headers: Boost 1.74's asio/awaitable.hpp uses std::exchange without
// including <utility>, which C++20 libstdc++ no longer pulls in on its own.
#include <boost/asio.hpp>
// clang-format on

#include "Vkvcpu_core.h"
#include "axi_host_slave.h"
#include "axil_master.h"  // sim::AxilResp
#include "host_memory.h"
#include "nvme_port.h"
#include "kvcpu/regs.h"
#include "kvcpu_build_info.h"
#include "kvcpu_proto.h"
#include "sim.h"

namespace kvcpu::cosim {
namespace {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using boost::system::error_code;
using proto::ErrorCode;
using proto::MsgType;

constexpr uint16_t kVendorId = 0x1DE5;
constexpr uint16_t kDeviceId = 0x0A10;
constexpr uint32_t kBoardCosim = 0;  // BOARD_ID.BOARD of the cosim server
constexpr uint64_t kDeviceTimeoutCycles = 1000;
constexpr uint64_t kSimSeed = 1;  // fixed: a cosim run is reproducible
constexpr size_t kReadChunk = 64 * 1024;
// While more reply bytes than this wait for the client to take them, the server reads no
// further requests from it (a client that pipelines without reading is paced, not buffered).
constexpr size_t kMaxQueuedReplyBytes = 256 * 1024;
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

// The socket file this server created. Removed on destruction (or remove()), but only
// while the path still names the very file that bind() created.
class SocketFile {
 public:
  SocketFile() = default;
  ~SocketFile() { remove(); }
  SocketFile(const SocketFile&) = delete;
  SocketFile& operator=(const SocketFile&) = delete;

  void adopt(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      path_ = path;
      dev_ = st.st_dev;
      ino_ = st.st_ino;
    }
  }
  void remove() {
    if (path_.empty()) {
      return;
    }
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
      ::unlink(path_.c_str());
    }
    path_.clear();
  }

 private:
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

// Whether the verilated core has the host-interface ports (host memory AXI4 master, MSI-X,
// busy_o, clock_hz_i). Everything that touches them is a template, so the server builds
// against a core without them too (it then never runs ahead and maps memory no one reads).
template <class M>
constexpr bool kHasHostPorts = requires(M& m) {
  m.m_axi_arvalid_o;
  m.m_axi_bresp_i;
  m.msix_valid_o;
  m.msix_data_o;
  m.busy_o;
  m.clock_hz_i;
};

// Whether the core has the NVMe port (SQEs out, CQEs in): served by an NvmePort.
template <class M>
constexpr bool kHasNvmePort = requires(M& m) {
  m.nvme_sq_valid_o;
  m.nvme_sq_o;
  m.nvme_cq_i;
};

constexpr uint32_t kClockHz = 250'000'000;  // the 4000 ps core clock

// Counters of host memory and interrupts (reported in STATS).
struct HostCounters {
  uint64_t msix_delivered = 0;
  uint64_t msix_dropped = 0;
  uint64_t msix_unrouted = 0;
  uint64_t msix_refused = 0;  // MSI-X writes outside the mapped regions (in dma_refused)
  uint64_t msix_seen = 0;     // every MSI-X handshake (for --drop-irq)
};

// An owned file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
};

// The verilated kvcpu_core with its build identity tied off, its BAR0 driven by an
// AXI4-Lite master, its host-memory port served from the client's mapped regions and its
// MSI-X messages routed to the client's eventfds. One clock cycle at a time (cycle()).
template <class Model>
class DeviceT {
 public:
  DeviceT(const std::string& trace_path, const AxiSlaveOptions& axi, uint32_t drop_irq,
          const nvme::SsdFaults& faults, bool preconditioned)
      : sim_(make_options(), /*quiet=*/true), slave_(memory_, axi), drop_irq_(drop_irq) {
    if constexpr (kHasNvmePort<Model>) {
      std::string err;
      nvme::SsdConfig cfg = nvme::SsdConfig::Samsung970Pro();
      cfg.unmapped_reads_use_nand = preconditioned;
      nvme_ = NvmePort::Create(&memory_, cfg, faults, &err);
      if (!nvme_) {
        throw std::runtime_error("NVMe SSD model: " + err);
      }
    }
    auto& d = sim_.dut();
    d.build_git_hash_i = build::git_hash();
    d.build_date_i = build::build_date();
    d.build_board_id_i =
        regs::kBoardIdDirty.put(regs::kBoardIdBoard.put(0, kBoardCosim), build::dirty() ? 1 : 0);
    if constexpr (kHasHostPorts<Model>) {
      d.clock_hz_i = kClockHz;
    }
    if (!trace_path.empty() && !sim_.set_trace(trace_path)) {
      throw std::runtime_error("cannot write waves to " + trace_path);
    }
    lite_idle();
    reset();
  }
  DeviceT(const DeviceT&) = delete;
  DeviceT& operator=(const DeviceT&) = delete;

  // Pulses the reset; bursts in flight at the host-memory port are dropped.
  void reset() {
    slave_.reset();
    drive_host();
    sim_.reset();
  }

  // std::nullopt: the device did not answer in time. The bus is then returned to idle and
  // the device reset, so that the next access starts clean.
  std::optional<sim::AxilResp> read(uint32_t offset) {
    auto& d = sim_.dut();
    d.s_axil_arvalid_i = 1;
    d.s_axil_araddr_i = offset;
    d.s_axil_rready_i = 1;
    const uint64_t start = sim_.cycle();
    while (sim_.cycle() - start < kDeviceTimeoutCycles) {
      bool ar_fire = false;
      std::optional<sim::AxilResp> r;
      cycle([&] {
        ar_fire = d.s_axil_arvalid_i && d.s_axil_arready_o;
        if (d.s_axil_rvalid_o) {
          r = sim::AxilResp{d.s_axil_rdata_o, static_cast<uint8_t>(d.s_axil_rresp_o), 0};
        }
      });
      if (ar_fire) {
        d.s_axil_arvalid_i = 0;
      }
      if (r) {
        lite_idle();
        r->cycles = sim_.cycle() - start;
        return r;
      }
    }
    return timed_out();
  }

  std::optional<sim::AxilResp> write(uint32_t offset, uint32_t data, uint8_t strb) {
    auto& d = sim_.dut();
    d.s_axil_awvalid_i = 1;
    d.s_axil_awaddr_i = offset;
    d.s_axil_wvalid_i = 1;
    d.s_axil_wdata_i = data;
    d.s_axil_wstrb_i = strb;
    d.s_axil_bready_i = 1;
    const uint64_t start = sim_.cycle();
    while (sim_.cycle() - start < kDeviceTimeoutCycles) {
      bool aw_fire = false, w_fire = false;
      std::optional<sim::AxilResp> r;
      cycle([&] {
        aw_fire = d.s_axil_awvalid_i && d.s_axil_awready_o;
        w_fire = d.s_axil_wvalid_i && d.s_axil_wready_o;
        if (d.s_axil_bvalid_o) {
          r = sim::AxilResp{0, static_cast<uint8_t>(d.s_axil_bresp_o), 0};
        }
      });
      if (aw_fire) {
        d.s_axil_awvalid_i = 0;
      }
      if (w_fire) {
        d.s_axil_wvalid_i = 0;
      }
      if (r) {
        lite_idle();
        r->cycles = sim_.cycle() - start;
        return r;
      }
    }
    return timed_out();
  }
  const std::string& last_bus_error() const { return last_bus_error_; }

  // Whether the device has work of its own (busy_o): the server then runs the clock.
  bool busy() {
    if constexpr (kHasHostPorts<Model>) {
      sim_.settle();
      return sim_.dut().busy_o != 0;
    } else {
      return false;
    }
  }
  // Runs up to `max` cycles while busy(); returns the cycles run. busy_o comes from the
  // core's registers, so after the first check the value the last clock edge left is read
  // without another evaluation.
  uint64_t run_ahead(uint64_t max) {
    uint64_t n = 0;
    if (!busy()) {
      return 0;
    }
    if constexpr (kHasHostPorts<Model>) {
      do {
        cycle([] {});
        ++n;
      } while (n < max && sim_.dut().busy_o != 0);
    }
    return n;
  }

  HostMemory& memory() { return memory_; }
  // Binds `irq_id` (an MSI-X data value sent to the interrupt window) to an eventfd,
  // replacing (and closing) an earlier one.
  void bind_irq(uint32_t irq_id, UniqueFd fd) { irqs_[irq_id] = std::move(fd); }
  bool unbind_irq(uint32_t irq_id) { return irqs_.erase(irq_id) != 0; }
  // Forgets everything of the departed client: its regions and eventfds.
  void release_host() {
    memory_.clear();
    irqs_.clear();
  }
  void fill(proto::Stats& st) const {
    st.dma_read_bytes = slave_.read_bytes();
    st.dma_write_bytes = slave_.write_bytes();
    st.dma_refused = slave_.refused() + host_.msix_refused;
    st.msix_delivered = host_.msix_delivered;
    st.msix_dropped = host_.msix_dropped;
    st.msix_unrouted = host_.msix_unrouted;
  }
  // First AXI rule the core broke at its host-memory port (empty: none), once.
  std::string take_host_protocol_error() {
    if (slave_.protocol_error().empty() || host_perr_reported_) {
      return {};
    }
    host_perr_reported_ = true;
    return slave_.protocol_error();
  }

  proto::SimTime now() const { return {sim_.time_ps(), sim_.cycle()}; }
  uint32_t clock_period_ps() const { return static_cast<uint32_t>(sim_.clock_period_ps()); }

 private:
  static sim::SimOptions make_options() {
    sim::SimOptions o;
    o.name = "kvcpu-cosim";
    o.seed = kSimSeed;
    o.seed_given = true;
    o.timeout_cycles = UINT64_MAX;  // the server runs for as long as clients want
    return o;
  }

  // One clock cycle: drive the slave side, settle, sample every handshake (`sample` sees
  // the settled BAR0 outputs), clock.
  template <class F>
  void cycle(F&& sample) {
    drive_host();
    sim_.settle();
    sample();
    if constexpr (kHasHostPorts<Model>) {
      auto& d = sim_.dut();
      AxiMasterSignals in;
      in.arvalid = d.m_axi_arvalid_o;
      in.araddr = d.m_axi_araddr_o;
      in.arlen = d.m_axi_arlen_o;
      in.arsize = d.m_axi_arsize_o;
      in.arburst = d.m_axi_arburst_o;
      in.rready = d.m_axi_rready_o;
      in.awvalid = d.m_axi_awvalid_o;
      in.awaddr = d.m_axi_awaddr_o;
      in.awlen = d.m_axi_awlen_o;
      in.awsize = d.m_axi_awsize_o;
      in.awburst = d.m_axi_awburst_o;
      in.wvalid = d.m_axi_wvalid_o;
      in.wdata = d.m_axi_wdata_o;
      in.wstrb = d.m_axi_wstrb_o;
      in.wlast = d.m_axi_wlast_o;
      in.bready = d.m_axi_bready_o;
      const bool msix = d.msix_valid_o && d.msix_ready_i;
      const uint64_t msix_addr = d.msix_addr_o;
      const uint32_t msix_data = d.msix_data_o;
      std::array<uint8_t, 64> sqe{};
      bool sq = false, cq = false;
      if constexpr (kHasNvmePort<Model>) {
        sq = d.nvme_sq_valid_o && d.nvme_sq_ready_i;
        cq = d.nvme_cq_valid_i && d.nvme_cq_ready_o;
        if (sq) {
          sim::get_bytes(d.nvme_sq_o, sqe);
        }
      }
      sim_.tick_settled();
      slave_.clock(in);
      if constexpr (kHasNvmePort<Model>) {
        nvme_->clock(sq ? &sqe : nullptr, cq, sim_.time_ps() / 1000);
      }
      if (msix) {
        deliver_msix(msix_addr, msix_data);
      }
    } else {
      sim_.tick();
    }
  }

  void drive_host() {
    if constexpr (kHasHostPorts<Model>) {
      auto& d = sim_.dut();
      const AxiSlaveSignals o = slave_.outputs();
      d.m_axi_arready_i = o.arready;
      d.m_axi_rvalid_i = o.rvalid;
      d.m_axi_rdata_i = o.rdata;
      d.m_axi_rresp_i = o.rresp;
      d.m_axi_rlast_i = o.rlast;
      d.m_axi_awready_i = o.awready;
      d.m_axi_wready_i = o.wready;
      d.m_axi_bvalid_i = o.bvalid;
      d.m_axi_bresp_i = o.bresp;
      d.msix_ready_i = 1;
    }
    if constexpr (kHasNvmePort<Model>) {
      auto& d = sim_.dut();
      d.nvme_sq_ready_i = nvme_->sq_ready();
      const auto* c = nvme_->cq_front();
      d.nvme_cq_valid_i = c != nullptr;
      sim::put_bytes(d.nvme_cq_i, c ? *c : std::array<uint8_t, 16>{});
    }
  }

  void deliver_msix(uint64_t addr, uint32_t data) {
    ++host_.msix_seen;
    if (drop_irq_ != 0 && host_.msix_seen % drop_irq_ == 0) {
      ++host_.msix_dropped;
      return;
    }
    if (addr == proto::kIrqWindow) {
      auto it = irqs_.find(data);
      if (it == irqs_.end()) {
        ++host_.msix_unrouted;
        return;
      }
      const uint64_t one = 1;
      // An eventfd write only fails when its counter would overflow: still signalled.
      [[maybe_unused]] ssize_t n = ::write(it->second.get(), &one, sizeof one);
      ++host_.msix_delivered;
      return;
    }
    if (memory_.write(addr, &data, sizeof data)) {
      ++host_.msix_delivered;
    } else {
      ++host_.msix_refused;
    }
  }

  void lite_idle() {
    auto& d = sim_.dut();
    d.s_axil_awvalid_i = 0;
    d.s_axil_wvalid_i = 0;
    d.s_axil_bready_i = 0;
    d.s_axil_arvalid_i = 0;
    d.s_axil_rready_i = 0;
    d.s_axil_awaddr_i = 0;
    d.s_axil_araddr_i = 0;
    d.s_axil_wdata_i = 0;
    d.s_axil_wstrb_i = 0;
  }

  std::optional<sim::AxilResp> timed_out() {
    last_bus_error_ = "timeout after " + std::to_string(kDeviceTimeoutCycles) + " cycles";
    lite_idle();
    reset();
    return std::nullopt;
  }

  sim::Sim<Model> sim_;
  HostMemory memory_;
  AxiHostSlave slave_;
  std::unique_ptr<NvmePort> nvme_;  // the SSD behind the NVMe port
  std::map<uint32_t, UniqueFd> irqs_;
  uint32_t drop_irq_ = 0;
  HostCounters host_;
  bool host_perr_reported_ = false;
  std::string last_bus_error_;
};
using Device = DeviceT<Vkvcpu_core>;

bool is_bus_error(uint8_t resp) {
  return resp == static_cast<uint8_t>(proto::Resp::kSlvErr) ||
         resp == static_cast<uint8_t>(proto::Resp::kDecErr);
}

std::string type_name(uint16_t type) {
  std::string_view n = proto::to_string(static_cast<MsgType>(type));
  if (n == "UNKNOWN") {
    return "type " + std::to_string(type);
  }
  return std::string(n);
}

}  // namespace

struct Server::Impl {
  explicit Impl(ServerOptions o) : opt(std::move(o)) {}

  // Cycles run ahead per slice before the socket is looked at again.
  static constexpr uint64_t kRunAheadSlice = 256;

  void log(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  proto::SimTime now() const { return device->now(); }
  void accept_next();
  void on_accept(local::socket socket);
  void attach(local::socket socket);
  void refuse(local::socket socket);
  void detach(Session& s);
  void stop();
  // Runs the clock ahead while the device is busy, a slice at a time, so that the socket
  // is polled between slices (docs/cosim-protocol.md, "Run-ahead").
  void kick();
  void run_ahead_slice();

  ServerOptions opt;
  asio::io_context io;  // first member: outlives every object that uses it
  std::optional<Device> device;
  local::acceptor acceptor{io};
  asio::signal_set signals{io};
  asio::steady_timer accept_retry{io};
  SocketFile socket_file;
  std::shared_ptr<Session> active;
  // A connection that arrived after the attached client hung up but before its session saw
  // the EOF: attached as soon as that session ends (so its last requests still execute).
  std::optional<local::socket> waiting;
  asio::steady_timer waiting_timer{io};
  proto::Stats stats;
  uint64_t next_client = 1;
  bool stopping = false;
  bool run_ahead_posted = false;
};

// One attached client. Requests are parsed from a byte buffer (several may arrive in one
// read), executed on the device in order, and their replies queued for an async write.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl& server, local::socket socket, uint64_t id)
      : server_(server),
        socket_(std::move(socket)),
        timer_(server.io),
        id_(id),
        chunk_(kReadChunk) {}

  void start() { read_more(); }

  // Closes the connection now (pending replies are dropped) and detaches from the server.
  void close() {
    if (closed_) {
      return;
    }
    auto self = shared_from_this();
    closed_ = true;
    closing_ = true;
    disarm();
    fds_.clear();  // file descriptors received but never claimed by a message
    error_code ignored;
    socket_.shutdown(local::socket::shutdown_both, ignored);
    socket_.close(ignored);
    server_.detach(*this);
  }

  // True when the peer has closed its end of the connection. Its EOF (after whatever
  // it sent before) reaches this session's pending read soon; nothing is decided here.
  bool peer_gone() {
    if (closed_) {
      return true;
    }
    pollfd p{socket_.native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
  }

  uint64_t id() const { return id_; }
  bool shutdown_requested() const { return shutdown_requested_; }
  // Whether this client ever mapped host memory or bound an interrupt: then its departure
  // resets the device (no queue of its stays enabled, no DMA touches its memory).
  bool used_host() const { return used_host_; }

 private:
  template <class F>
  void guarded(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      server_.log("client %llu: internal error: %s; closing the connection", ull(id_), e.what());
      close();
    }
  }
  static unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

  void end(const char* why) {
    if (closed_) {
      return;
    }
    if (in_.empty()) {
      server_.log("client %llu %s", ull(id_), why);
    } else {
      server_.log("client %llu %s mid-message (%zu bytes of an incomplete message dropped)",
                  ull(id_), why, in_.size());
    }
    close();
  }

  void read_more() {
    if (reading_ || closing_ || out_bytes_ > kMaxQueuedReplyBytes) {
      return;
    }
    reading_ = true;
    // Readiness only: the bytes (and any file descriptors that came with them) are taken
    // with recvmsg, which Asio's reads do not offer.
    socket_.async_wait(local::socket::wait_read, [self = shared_from_this()](const error_code& ec) {
      self->guarded([&] { self->on_readable(ec); });
    });
  }

  void on_readable(const error_code& ec) {
    reading_ = false;
    if (closing_) {
      return;
    }
    if (ec) {
      server_.log("client %llu: read failed: %s", ull(id_), ec.message().c_str());
      close();
      return;
    }
    constexpr size_t kMaxFdsPerRead = 8;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerRead)];
    iovec iov{chunk_.data(), chunk_.size()};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(socket_.native_handle(), &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        read_more();
        return;
      }
      if (errno == ECONNRESET) {
        end("disconnected");
      } else {
        server_.log("client %llu: read failed: %s", ull(id_), std::strerror(errno));
        close();
      }
      return;
    }
    // File descriptors first (owned at once, so that nothing below can leak them).
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int fd = -1;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          fds_.push_back({UniqueFd(fd), rx_total_, rx_total_ + static_cast<uint64_t>(n)});
        }
      }
    }
    if (n == 0) {
      end("disconnected");
      return;
    }
    rx_total_ += static_cast<uint64_t>(n);
    in_.insert(in_.end(), chunk_.begin(), chunk_.begin() + n);
    if ((mh.msg_flags & MSG_CTRUNC) != 0 || fds_.size() > kMaxQueuedFds) {
      // Descriptors were lost (the kernel closed what did not fit) or are piling up
      // without the messages that take them: the stream can no longer be trusted.
      protocol_error(0, 0, ErrorCode::kBadFd,
                     "too many file descriptors sent without the messages that take them");
      return;
    }
    process();
    server_.kick();
    read_more();
  }

  // Executes every complete message in in_; keeps an incomplete one and times it.
  void process() {
    size_t pos = 0;
    bool consumed = false;
    while (!closing_) {
      const size_t avail = in_.size() - pos;
      if (avail < proto::kHeaderSize) {
        break;
      }
      const proto::Header h = proto::decode_header(
          std::span<const uint8_t, proto::kHeaderSize>(in_.data() + pos, proto::kHeaderSize));
      if (ErrorCode c = proto::check_request_header(h); c != ErrorCode::kNone) {
        protocol_error(h.type, h.seq, c, header_problem(h, c));
        break;
      }
      if (avail < proto::kHeaderSize + h.length) {
        break;
      }
      const uint64_t msg_end = consumed_ + pos + proto::kHeaderSize + h.length;
      handle(h, std::span<const uint8_t>(in_.data() + pos + proto::kHeaderSize, h.length),
             msg_end);
      pos += proto::kHeaderSize + h.length;
      consumed = true;
    }
    if (closing_) {
      return;
    }
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(pos));
    consumed_ += pos;
    if (in_.empty()) {
      disarm();
    } else if (consumed || !timer_armed_) {
      arm(server_.opt.msg_timeout);  // the first byte of this message arrived just now
    }
  }

  static std::string header_problem(const proto::Header& h, ErrorCode c) {
    char buf[160];
    switch (c) {
      case ErrorCode::kBadMagic:
        std::snprintf(buf, sizeof buf, "bad magic 0x%08X (expected 0x%08X, bytes \"KVCS\")",
                      h.magic, proto::kMagic);
        break;
      case ErrorCode::kBadFlags:
        std::snprintf(buf, sizeof buf, "flags 0x%04X set on a request (must be 0)", h.flags);
        break;
      case ErrorCode::kBadType:
        std::snprintf(buf, sizeof buf, "unknown message type %u", h.type);
        break;
      case ErrorCode::kBadLength: {
        auto want = proto::request_length(static_cast<MsgType>(h.type));
        std::snprintf(buf, sizeof buf, "%s with payload length %u (expected %zu, max %zu)",
                      type_name(h.type).c_str(), h.length, want.value_or(0), proto::kMaxPayload);
        break;
      }
      default:
        std::snprintf(buf, sizeof buf, "%s", std::string(proto::to_string(c)).c_str());
        break;
    }
    return buf;
  }

  // Claims the file descriptor of a message that takes one (ending at stream offset
  // `msg_end`): the oldest queued one, if it arrived with bytes before that offset.
  std::optional<UniqueFd> claim_fd(uint64_t msg_end) {
    if (fds_.empty() || fds_.front().begin >= msg_end) {
      return std::nullopt;
    }
    UniqueFd fd = std::move(fds_.front().fd);
    fds_.pop_front();
    return fd;
  }

  // A message that takes no fd, ending at `msg_end`: any queued fd whose bytes all lie
  // before that offset was sent with this or an earlier message that takes none.
  bool stray_fd(uint64_t msg_end) const { return !fds_.empty() && fds_.front().end <= msg_end; }

  // Non-fatal refusal of a well-formed request: error reply, connection stays open.
  void refuse_request(const proto::Header& h, ErrorCode code, const std::string& msg) {
    ++server_.stats.protocol_errors;
    server_.log("client %llu: %s seq %u refused: %s", ull(id_), type_name(h.type).c_str(), h.seq,
                msg.c_str());
    send(proto::encode_error(static_cast<MsgType>(h.type), h.seq, server_.now(), {code, msg}));
  }

  void handle(const proto::Header& h, std::span<const uint8_t> body, uint64_t msg_end) {
    const auto type = static_cast<MsgType>(h.type);
    std::optional<UniqueFd> fd;
    if (proto::takes_fd(type)) {
      fd = claim_fd(msg_end);
    } else if (stray_fd(msg_end)) {
      while (stray_fd(msg_end)) {
        fds_.pop_front();  // closes it
      }
      protocol_error(h.type, h.seq, ErrorCode::kBadFd,
                     "a file descriptor came with " + type_name(h.type) +
                         ", which takes none (closed)");
      return;
    }
    if (!hello_done_ && type != MsgType::kHello) {
      protocol_error(h.type, h.seq, ErrorCode::kNotHello,
                     "first message must be HELLO, got " + type_name(h.type));
      return;
    }
    if (hello_done_ && type == MsgType::kHello) {
      protocol_error(h.type, h.seq, ErrorCode::kNotHello, "second HELLO on this connection");
      return;
    }
    Device& dev = *server_.device;
    proto::Stats& st = server_.stats;
    std::vector<uint8_t> out;
    switch (type) {
      case MsgType::kHello: {
        auto m = proto::decode_hello(body);
        if (!m) {
          return bad_body(h);
        }
        if (m->major != proto::kVersionMajor) {
          protocol_error(h.type, h.seq, ErrorCode::kBadVersion,
                         "protocol version " + std::to_string(m->major) + "." +
                             std::to_string(m->minor) + " not supported; this server speaks " +
                             std::to_string(proto::kVersionMajor) + "." +
                             std::to_string(proto::kVersionMinor) + " (major " +
                             std::to_string(proto::kVersionMajor) + " only)");
          return;
        }
        hello_done_ = true;
        client_minor_ = m->minor;
        proto::HelloReply r;
        r.major = proto::kVersionMajor;
        r.minor = proto::kVersionMinor;
        r.vendor_id = kVendorId;
        r.device_id = kDeviceId;
        r.bar0_size = regs::kBarSize;
        r.clock_period_ps = dev.clock_period_ps();
        proto::encode(r, out);
        break;
      }
      case MsgType::kMmioRead: {
        auto m = proto::decode_mmio_read(body);
        if (!m) {
          return bad_body(h);
        }
        if (m->bar != 0) {
          return bad_bar(h, m->bar);
        }
        ++st.mmio_reads;
        proto::MmioReadReply r;
        if (m->offset >= regs::kBarSize) {
          r.resp = proto::Resp::kDecErr;
          ++st.bus_errors;
        } else {
          auto a = dev.read(m->offset);
          if (!a) {
            return device_timeout(h);
          }
          r.data = a->data;
          r.resp = static_cast<proto::Resp>(a->resp);
          st.bus_errors += is_bus_error(a->resp) ? 1 : 0;
        }
        proto::encode(r, out);
        break;
      }
      case MsgType::kMmioWrite:
      case MsgType::kMmioWritePosted: {
        auto m = proto::decode_mmio_write(body);
        if (!m) {
          return bad_body(h);
        }
        if (m->bar != 0) {
          return bad_bar(h, m->bar);
        }
        const bool posted = type == MsgType::kMmioWritePosted;
        ++(posted ? st.posted_writes : st.mmio_writes);
        proto::MmioWriteReply r;
        if (m->offset >= regs::kBarSize) {
          r.resp = proto::Resp::kDecErr;
          ++st.bus_errors;
        } else {
          auto a = dev.write(m->offset, m->data, static_cast<uint8_t>(m->strb));
          if (!a) {
            return device_timeout(h);
          }
          r.resp = static_cast<proto::Resp>(a->resp);
          st.bus_errors += is_bus_error(a->resp) ? 1 : 0;
        }
        if (posted) {
          return;
        }
        proto::encode(r, out);
        break;
      }
      case MsgType::kReset:
        dev.reset();
        ++st.resets;
        break;
      case MsgType::kStats:
        dev.fill(st);
        proto::encode(st, out, std::min(client_minor_, proto::kVersionMinor));
        break;
      case MsgType::kMemMap: {
        // The received fd is closed before any answer goes out, so that a client that counts
        // the server's fds after the answer sees it closed.
        auto m = proto::decode_mem_map(body);
        if (!m) {
          fd.reset();
          return bad_body(h);
        }
        if (!fd) {
          return refuse_request(h, ErrorCode::kBadFd, "MEM_MAP without a file descriptor");
        }
        auto e = dev.memory().map(fd->get(), m->iova, m->size, m->fd_offset);
        fd.reset();  // the mapping keeps the file
        if (e) {
          return refuse_request(h, ErrorCode::kBadMap, "MEM_MAP: " + *e);
        }
        used_host_ = true;
        break;
      }
      case MsgType::kMemUnmap: {
        auto m = proto::decode_mem_unmap(body);
        if (!m) {
          return bad_body(h);
        }
        if (auto e = dev.memory().unmap(m->iova)) {
          return refuse_request(h, ErrorCode::kBadMap, "MEM_UNMAP: " + *e);
        }
        break;
      }
      case MsgType::kIrqBind:
      case MsgType::kIrqUnbind: {
        // As for MEM_MAP: an fd not kept is closed before the answer goes out.
        auto m = proto::decode_irq_bind(body);
        if (!m) {
          fd.reset();
          return bad_body(h);
        }
        const bool bind = type == MsgType::kIrqBind;
        if (bind && !fd) {
          return refuse_request(h, ErrorCode::kBadFd, "IRQ_BIND without a file descriptor");
        }
        if (m->irq_id >= proto::kMaxIrqId) {
          fd.reset();
          return refuse_request(h, ErrorCode::kBadIrq,
                                type_name(h.type) + ": irq_id " + std::to_string(m->irq_id) +
                                    " out of range (at most " +
                                    std::to_string(proto::kMaxIrqId - 1) + ")");
        }
        if (bind) {
          if (!is_eventfd(fd->get())) {
            fd.reset();
            return refuse_request(h, ErrorCode::kBadFd,
                                  "IRQ_BIND: the file descriptor is not an eventfd");
          }
          dev.bind_irq(m->irq_id, std::move(*fd));
          used_host_ = true;
        } else if (!dev.unbind_irq(m->irq_id)) {
          return refuse_request(h, ErrorCode::kBadIrq,
                                "IRQ_UNBIND: irq_id " + std::to_string(m->irq_id) + " is not bound");
        }
        break;
      }
      case MsgType::kShutdown:
        server_.log("client %llu requested shutdown", ull(id_));
        shutdown_requested_ = true;
        closing_ = true;  // read nothing more; close (and stop) once the reply is out
        arm(server_.opt.msg_timeout);
        break;
    }
    send(proto::encode_reply(type, h.seq, server_.now(), out));
  }

  void bad_body(const proto::Header& h) {
    protocol_error(h.type, h.seq, ErrorCode::kBadLength,
                   type_name(h.type) + " body does not decode (reserved bits set)");
  }

  // Well-formed request naming a BAR the device lacks: error reply, connection stays open.
  void bad_bar(const proto::Header& h, uint32_t bar) {
    ++server_.stats.protocol_errors;
    const std::string msg = "BAR " + std::to_string(bar) + " does not exist (the device has BAR0)";
    server_.log("client %llu: %s seq %u: %s", ull(id_), type_name(h.type).c_str(), h.seq,
                msg.c_str());
    send(proto::encode_error(static_cast<MsgType>(h.type), h.seq, server_.now(),
                             {ErrorCode::kBadBar, msg}));
  }

  void device_timeout(const proto::Header& h) {
    server_.log("client %llu: %s seq %u: device did not answer (%s); device reset", ull(id_),
                type_name(h.type).c_str(), h.seq, server_.device->last_bus_error().c_str());
    error_and_close(h.type, h.seq, ErrorCode::kTimeout, "device did not answer");
  }

  void protocol_error(uint16_t type, uint32_t seq, ErrorCode code, const std::string& msg) {
    ++server_.stats.protocol_errors;
    server_.log("client %llu: protocol error (%s): %s; closing", ull(id_),
                std::string(proto::to_string(code)).c_str(), msg.c_str());
    error_and_close(type, seq, code, msg);
  }

  void error_and_close(uint16_t type, uint32_t seq, ErrorCode code, const std::string& msg) {
    send(proto::encode_error(static_cast<MsgType>(type), seq, server_.now(), {code, msg}));
    closing_ = true;
    arm(server_.opt.msg_timeout);  // a client that never takes the reply is closed anyway
  }

  void send(std::vector<uint8_t> bytes) {
    out_bytes_ += bytes.size();
    out_.push_back(std::move(bytes));
    if (!writing_) {
      write_next();
    }
  }

  void write_next() {
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](const error_code& ec, size_t) {
                        self->guarded([&] { self->on_write(ec); });
                      });
  }

  void on_write(const error_code& ec) {
    writing_ = false;
    if (closed_) {
      return;
    }
    if (ec) {
      server_.log("client %llu: write failed: %s", ull(id_), ec.message().c_str());
      close();
      return;
    }
    out_bytes_ -= out_.front().size();
    out_.pop_front();
    if (!out_.empty()) {
      write_next();
    } else if (closing_) {
      close();
    } else {
      read_more();
    }
  }

  void arm(std::chrono::milliseconds d) {
    timer_armed_ = true;
    const uint64_t gen = ++timer_gen_;
    timer_.expires_after(d);
    timer_.async_wait([self = shared_from_this(), gen](const error_code& ec) {
      self->guarded([&] { self->on_timer(ec, gen); });
    });
  }

  void disarm() {
    if (timer_armed_) {
      timer_armed_ = false;
      ++timer_gen_;
      timer_.cancel();
    }
  }

  void on_timer(const error_code& ec, uint64_t gen) {
    if (ec || gen != timer_gen_ || closed_) {
      return;
    }
    timer_armed_ = false;
    if (closing_) {
      server_.log("client %llu did not take its last reply in time; closing", ull(id_));
      close();
      return;
    }
    uint16_t type = 0;
    uint32_t seq = 0;
    size_t want = proto::kHeaderSize;
    if (in_.size() >= proto::kHeaderSize) {
      const proto::Header h = proto::decode_header(
          std::span<const uint8_t, proto::kHeaderSize>(in_.data(), proto::kHeaderSize));
      type = h.type;
      seq = h.seq;
      want += h.length;
    }
    protocol_error(type, seq, ErrorCode::kTimeout,
                   "message incomplete after " + std::to_string(server_.opt.msg_timeout.count()) +
                       " ms (" + std::to_string(in_.size()) + " of " + std::to_string(want) +
                       " bytes)");
  }

  static bool is_eventfd(int fd) {
    char link[64] = {};
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = ::readlink(path.c_str(), link, sizeof link - 1);
    return n > 0 && std::string_view(link, static_cast<size_t>(n)) == "anon_inode:[eventfd]";
  }

  // At most this many received descriptors wait for their messages.
  static constexpr size_t kMaxQueuedFds = 16;
  struct QueuedFd {
    UniqueFd fd;
    uint64_t begin = 0;  // stream offsets of the bytes it arrived with
    uint64_t end = 0;
  };

  Server::Impl& server_;
  local::socket socket_;
  asio::steady_timer timer_;
  const uint64_t id_;
  std::vector<uint8_t> chunk_;            // read buffer
  std::vector<uint8_t> in_;               // received bytes not yet executed
  std::deque<std::vector<uint8_t>> out_;  // replies not yet written; front() in flight
  size_t out_bytes_ = 0;
  uint64_t timer_gen_ = 0;
  bool timer_armed_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool hello_done_ = false;
  bool closing_ = false;  // no more requests are read; close once the replies are out
  bool closed_ = false;
  bool shutdown_requested_ = false;
  bool used_host_ = false;
  uint16_t client_minor_ = 0;      // minor version announced in HELLO
  std::deque<QueuedFd> fds_;       // received, not yet claimed; oldest first
  uint64_t rx_total_ = 0;          // stream bytes received so far
  uint64_t consumed_ = 0;          // stream offset of in_[0]
};

void Server::Impl::log(const char* fmt, ...) {
  if (opt.quiet) {
    return;
  }
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "kvcpu-cosim: %s\n", buf);
}

void Server::Impl::accept_next() {
  if (stopping) {
    return;
  }
  acceptor.async_accept([this](const error_code& ec, local::socket socket) {
    if (stopping || ec == asio::error::operation_aborted) {
      return;
    }
    if (ec) {
      // Out of descriptors and the like: retry a little later instead of spinning.
      log("accept failed: %s", ec.message().c_str());
      accept_retry.expires_after(kAcceptRetry);
      accept_retry.async_wait([this](const error_code& e) {
        if (!e) {
          accept_next();
        }
      });
      return;
    }
    try {
      on_accept(std::move(socket));
    } catch (const std::exception& e) {
      log("internal error while accepting: %s", e.what());
    }
    accept_next();
  });
}

void Server::Impl::on_accept(local::socket socket) {
  if (!active) {
    attach(std::move(socket));
    return;
  }
  if (!waiting && active->peer_gone()) {
    waiting.emplace(std::move(socket));
    waiting_timer.expires_after(opt.msg_timeout);
    waiting_timer.async_wait([this](const error_code& ec) {
      if (!ec && waiting && active) {
        log("client %llu hung up but its session did not end; closing it",
            static_cast<unsigned long long>(active->id()));
        auto a = active;
        a->close();
      }
    });
    return;
  }
  refuse(std::move(socket));
}

void Server::Impl::attach(local::socket socket) {
  const uint64_t id = next_client++;
  ++stats.clients;
  log("client %llu attached", static_cast<unsigned long long>(id));
  active = std::make_shared<Session>(*this, std::move(socket), id);
  active->start();
}

void Server::Impl::refuse(local::socket socket) {
  ++stats.busy_refusals;
  const std::string msg = "device busy: client " + std::to_string(active->id()) +
                          " is attached; the server serves one client at a time";
  log("connection refused: %s", msg.c_str());
  auto conn = std::make_shared<local::socket>(std::move(socket));
  auto bytes = std::make_shared<std::vector<uint8_t>>(
      proto::encode_error(MsgType::kHello, 0, now(), {ErrorCode::kBusy, msg}));
  asio::async_write(*conn, asio::buffer(*bytes), [conn, bytes](const error_code&, size_t) {
    error_code ignored;
    conn->shutdown(local::socket::shutdown_both, ignored);
    conn->close(ignored);
  });
}

void Server::Impl::detach(Session& s) {
  if (active.get() != &s) {
    return;
  }
  if (s.used_host()) {
    // Nothing of the departed client may stay reachable: reset first (no queue enabled,
    // no DMA in flight), then unmap its memory and close its eventfds.
    device->reset();
    log("client %llu used host memory: device reset", static_cast<unsigned long long>(s.id()));
  }
  device->release_host();
  if (auto e = device->take_host_protocol_error(); !e.empty()) {
    log("device broke the AXI rules at its host-memory port: %s", e.c_str());
  }
  active.reset();
  if (s.shutdown_requested()) {
    stop();
    return;
  }
  if (waiting && !stopping) {
    local::socket next = std::move(*waiting);
    waiting.reset();
    waiting_timer.cancel();
    attach(std::move(next));
  }
}

void Server::Impl::kick() {
  if (run_ahead_posted || stopping || !device || !device->busy()) {
    return;
  }
  run_ahead_posted = true;
  asio::post(io, [this] { run_ahead_slice(); });
}

void Server::Impl::run_ahead_slice() {
  run_ahead_posted = false;
  if (stopping) {
    return;
  }
  try {
    stats.run_ahead_cycles += device->run_ahead(kRunAheadSlice);
  } catch (const std::exception& e) {
    log("internal error while running ahead: %s", e.what());
    return;
  }
  kick();
}

void Server::Impl::stop() {
  if (stopping) {
    return;
  }
  stopping = true;
  error_code ignored;
  acceptor.close(ignored);
  signals.cancel(ignored);
  accept_retry.cancel();
  waiting_timer.cancel();
  waiting.reset();  // closes it
  if (active) {
    auto a = std::move(active);
    a->close();
  }
  socket_file.remove();
  io.stop();  // refusals still in flight are dropped with the io_context
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  if (impl_) {
    impl_->stop();
  }
}

std::optional<std::string> Server::listen() {
  Impl& s = *impl_;
  const std::string& path = s.opt.socket_path;
  if (path.empty()) {
    return "no socket path given";
  }
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return path + ": socket path too long (at most " +
           std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes)";
  }
  try {
    s.device.emplace(s.opt.trace_path, s.opt.axi, s.opt.drop_irq, s.opt.ssd_faults, s.opt.ssd_preconditioned);
  } catch (const std::exception& e) {
    return std::string("cannot build the device model: ") + e.what();
  }

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return path + ": exists and is not a socket; not replacing it";
    }
    local::socket probe(s.io);
    error_code ec;
    probe.connect(local::endpoint(path), ec);
    if (!ec) {
      return path + ": already in use (another server accepts connections there)";
    }
    if (ec != asio::error::connection_refused) {
      return path + ": cannot tell whether the existing socket is live: " + ec.message();
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return path + ": cannot remove stale socket: " + std::strerror(errno);
    }
    s.log("removed stale socket %s", path.c_str());
  }

  error_code ec;
  s.acceptor.open(local(), ec);
  if (!ec) {
    const mode_t old = ::umask(0177);  // the socket file is born 0600: no window
    s.acceptor.bind(local::endpoint(path), ec);
    ::umask(old);
    if (!ec) {
      s.socket_file.adopt(path);
      s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
  }
  if (ec) {
    error_code ignored;
    s.acceptor.close(ignored);
    s.socket_file.remove();
    if (ec == asio::error::address_in_use) {
      return path + ": already in use";
    }
    return path + ": cannot listen: " + ec.message();
  }

  s.signals.add(SIGINT);
  s.signals.add(SIGTERM);
  s.signals.async_wait([&s](const error_code& e, int sig) {
    if (!e) {
      s.log("signal %d: shutting down", sig);
      s.stop();
    }
  });
  s.accept_next();
  return std::nullopt;
}

void Server::run() {
  Impl& s = *impl_;
  while (!s.stopping) {
    try {
      s.io.run();
      break;
    } catch (const std::exception& e) {
      // Handlers catch their own; this is the last line of defence. Keep serving.
      s.log("internal error: %s", e.what());
    }
  }
  s.stop();
}

}  // namespace kvcpu::cosim
