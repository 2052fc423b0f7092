// Wire protocol codec: round trips, header and body validation, and a fuzz loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <span>
#include <vector>

#include "kvcpu_proto.h"

namespace kvcpu::proto {
namespace {

using Bytes = std::vector<uint8_t>;

Header header_of(const Bytes& msg) {
  return decode_header(std::span<const uint8_t, kHeaderSize>(msg.data(), kHeaderSize));
}

std::span<const uint8_t> payload_of(const Bytes& msg) {
  return std::span<const uint8_t>(msg).subspan(kHeaderSize);
}

Header request_header(MsgType t, uint32_t length) {
  Header h;
  h.type = static_cast<uint16_t>(t);
  h.length = length;
  return h;
}

Header reply_header(MsgType t, uint32_t length, uint16_t flags = kFlagReply) {
  Header h;
  h.type = static_cast<uint16_t>(t);
  h.flags = flags;
  h.length = length;
  return h;
}

constexpr MsgType kAllTypes[] = {MsgType::kHello,           MsgType::kMmioRead, MsgType::kMmioWrite,
                                 MsgType::kMmioWritePosted, MsgType::kReset,    MsgType::kStats,
                                 MsgType::kShutdown,        MsgType::kMemMap,   MsgType::kMemUnmap,
                                 MsgType::kIrqBind,         MsgType::kIrqUnbind};

TEST(ProtoHeader, RoundTrip) {
  Header h;
  h.type = 0x1234;
  h.flags = 0xBEEF;
  h.seq = 0xDEADBEEF;
  h.length = 0x01020304;
  uint8_t raw[kHeaderSize];
  encode_header(h, raw);
  EXPECT_EQ(raw[0], 'K');
  EXPECT_EQ(raw[1], 'V');
  EXPECT_EQ(raw[2], 'C');
  EXPECT_EQ(raw[3], 'S');
  Header d = decode_header(std::span<const uint8_t, kHeaderSize>(raw));
  EXPECT_EQ(d.magic, kMagic);
  EXPECT_EQ(d.type, h.type);
  EXPECT_EQ(d.flags, h.flags);
  EXPECT_EQ(d.seq, h.seq);
  EXPECT_EQ(d.length, h.length);
}

TEST(ProtoMessages, HelloRoundTrip) {
  Bytes b;
  encode(Hello{3, 7}, b);
  ASSERT_EQ(b.size(), *request_length(MsgType::kHello));
  auto d = decode_hello(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->major, 3);
  EXPECT_EQ(d->minor, 7);
}

TEST(ProtoMessages, HelloReplyRoundTrip) {
  HelloReply m{1, 2, 0x1DE5, 0x0A10, 65536, 10000};
  Bytes b;
  encode(m, b);
  ASSERT_EQ(b.size(), *reply_length(MsgType::kHello));
  auto d = decode_hello_reply(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->major, 1);
  EXPECT_EQ(d->minor, 2);
  EXPECT_EQ(d->vendor_id, 0x1DE5);
  EXPECT_EQ(d->device_id, 0x0A10);
  EXPECT_EQ(d->bar0_size, 65536u);
  EXPECT_EQ(d->clock_period_ps, 10000u);
}

TEST(ProtoMessages, MmioReadRoundTrip) {
  Bytes b;
  encode(MmioRead{1, 0xFFFC}, b);
  ASSERT_EQ(b.size(), *request_length(MsgType::kMmioRead));
  auto d = decode_mmio_read(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->bar, 1u);
  EXPECT_EQ(d->offset, 0xFFFCu);
}

TEST(ProtoMessages, MmioReadReplyRoundTripEveryResp) {
  for (Resp r : {Resp::kOkay, Resp::kExOkay, Resp::kSlvErr, Resp::kDecErr}) {
    Bytes b;
    encode(MmioReadReply{0xCAFEF00D, r}, b);
    ASSERT_EQ(b.size(), *reply_length(MsgType::kMmioRead));
    auto d = decode_mmio_read_reply(b);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->data, 0xCAFEF00Du);
    EXPECT_EQ(d->resp, r);
  }
}

TEST(ProtoMessages, MmioWriteRoundTrip) {
  for (uint32_t strb = 0; strb <= 0xF; ++strb) {
    Bytes b;
    encode(MmioWrite{0, 0x20, 0x12345678, strb}, b);
    ASSERT_EQ(b.size(), *request_length(MsgType::kMmioWrite));
    ASSERT_EQ(b.size(), *request_length(MsgType::kMmioWritePosted));
    auto d = decode_mmio_write(b);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->bar, 0u);
    EXPECT_EQ(d->offset, 0x20u);
    EXPECT_EQ(d->data, 0x12345678u);
    EXPECT_EQ(d->strb, strb);
  }
}

TEST(ProtoMessages, MmioWriteReplyRoundTripEveryResp) {
  for (Resp r : {Resp::kOkay, Resp::kExOkay, Resp::kSlvErr, Resp::kDecErr}) {
    Bytes b;
    encode(MmioWriteReply{r}, b);
    ASSERT_EQ(b.size(), *reply_length(MsgType::kMmioWrite));
    auto d = decode_mmio_write_reply(b);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->resp, r);
  }
}

TEST(ProtoMessages, StatsRoundTrip) {
  Stats s{1, 2, 3, 4, 5, 6, 7, 0xFFFFFFFFFFFFFFFFull};
  Bytes b;
  encode(s, b);
  ASSERT_EQ(b.size(), *reply_length(MsgType::kStats));
  auto d = decode_stats(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->mmio_reads, 1u);
  EXPECT_EQ(d->mmio_writes, 2u);
  EXPECT_EQ(d->posted_writes, 3u);
  EXPECT_EQ(d->bus_errors, 4u);
  EXPECT_EQ(d->protocol_errors, 5u);
  EXPECT_EQ(d->clients, 6u);
  EXPECT_EQ(d->busy_refusals, 7u);
  EXPECT_EQ(d->resets, 0xFFFFFFFFFFFFFFFFull);
  EXPECT_EQ(d->dma_read_bytes, 0u);
}

TEST(ProtoMessages, StatsLayoutFollowsTheClientsMinor) {
  Stats s{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  Bytes b11;
  encode(s, b11);
  ASSERT_EQ(b11.size(), 120u);
  ASSERT_EQ(*reply_length(MsgType::kStats, 1), 120u);
  auto d = decode_stats(b11);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->resets, 8u);
  EXPECT_EQ(d->dma_read_bytes, 9u);
  EXPECT_EQ(d->dma_write_bytes, 10u);
  EXPECT_EQ(d->dma_refused, 11u);
  EXPECT_EQ(d->msix_delivered, 12u);
  EXPECT_EQ(d->msix_dropped, 13u);
  EXPECT_EQ(d->msix_unrouted, 14u);
  EXPECT_EQ(d->run_ahead_cycles, 15u);
  // A 1.0 client gets the eight 1.0 counters, byte for byte the 1.0 layout.
  Bytes b10;
  encode(s, b10, 0);
  ASSERT_EQ(b10.size(), 64u);
  ASSERT_EQ(*reply_length(MsgType::kStats, 0), 64u);
  EXPECT_TRUE(std::equal(b10.begin(), b10.end(), b11.begin()));
  auto d10 = decode_stats(b10, 0);
  ASSERT_TRUE(d10);
  EXPECT_EQ(d10->resets, 8u);
  EXPECT_EQ(d10->dma_read_bytes, 0u);
  EXPECT_FALSE(decode_stats(b10, 1));
  EXPECT_FALSE(decode_stats(b11, 0));
  EXPECT_EQ(check_reply_header(reply_header(MsgType::kStats, 16 + 64), 0), ErrorCode::kNone);
  EXPECT_EQ(check_reply_header(reply_header(MsgType::kStats, 16 + 64), 1), ErrorCode::kBadLength);
}

TEST(ProtoMessages, HostMemoryAndIrqBodiesRoundTrip) {
  Bytes b;
  encode(MemMap{0x1234'5678'9000ull, 0x20000, 0x3000}, b);
  ASSERT_EQ(b.size(), *request_length(MsgType::kMemMap));
  auto m = decode_mem_map(b);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->iova, 0x1234'5678'9000ull);
  EXPECT_EQ(m->size, 0x20000u);
  EXPECT_EQ(m->fd_offset, 0x3000u);
  b.clear();
  encode(MemUnmap{0xFFFF'F000ull}, b);
  ASSERT_EQ(b.size(), *request_length(MsgType::kMemUnmap));
  EXPECT_EQ(decode_mem_unmap(b)->iova, 0xFFFF'F000ull);
  b.clear();
  encode(IrqBind{2047}, b);
  ASSERT_EQ(b.size(), *request_length(MsgType::kIrqBind));
  ASSERT_EQ(b.size(), *request_length(MsgType::kIrqUnbind));
  EXPECT_EQ(decode_irq_bind(b)->irq_id, 2047u);
  for (MsgType t : kAllTypes) {
    EXPECT_EQ(takes_fd(t), t == MsgType::kMemMap || t == MsgType::kIrqBind) << to_string(t);
  }
  for (MsgType t : {MsgType::kMemMap, MsgType::kMemUnmap, MsgType::kIrqBind, MsgType::kIrqUnbind}) {
    EXPECT_EQ(*reply_length(t), 0u) << to_string(t);
  }
}

TEST(ProtoMessages, SimTimeRoundTrip) {
  Bytes b;
  encode(SimTime{123456789012345ull, 42}, b);
  ASSERT_EQ(b.size(), kReplyPrefixSize);
  b.push_back(0xAA);  // decode_sim_time reads the prefix of a longer payload
  auto d = decode_sim_time(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->time_ps, 123456789012345ull);
  EXPECT_EQ(d->cycle, 42u);
  EXPECT_FALSE(decode_sim_time(std::span<const uint8_t>(b).first(kReplyPrefixSize - 1)));
}

TEST(ProtoMessages, RequestsRoundTripThroughHeaderChecks) {
  for (MsgType t : kAllTypes) {
    Bytes body(*request_length(t), 0);
    if (t == MsgType::kMmioWrite || t == MsgType::kMmioWritePosted) {
      body.clear();
      encode(MmioWrite{}, body);
    }
    Bytes msg = encode_request(t, 77, body);
    ASSERT_EQ(msg.size(), kHeaderSize + body.size());
    Header h = header_of(msg);
    EXPECT_EQ(h.seq, 77u);
    EXPECT_EQ(h.type, static_cast<uint16_t>(t));
    EXPECT_EQ(h.flags, 0);
    EXPECT_EQ(check_request_header(h), ErrorCode::kNone) << to_string(t);
    EXPECT_NE(check_reply_header(h), ErrorCode::kNone) << "a request is not a reply";
  }
}

TEST(ProtoMessages, RepliesRoundTripThroughHeaderChecks) {
  for (MsgType t : kAllTypes) {
    auto len = reply_length(t);
    if (!len) {
      continue;  // posted writes are never replied to (except errors)
    }
    Bytes body(*len, 0x5A);
    Bytes msg = encode_reply(t, 9, SimTime{1000, 10}, body);
    Header h = header_of(msg);
    EXPECT_EQ(h.flags, kFlagReply);
    EXPECT_EQ(h.length, kReplyPrefixSize + *len);
    EXPECT_EQ(check_reply_header(h), ErrorCode::kNone) << to_string(t);
    EXPECT_NE(check_request_header(h), ErrorCode::kNone) << "a reply is not a request";
    auto now = decode_sim_time(payload_of(msg));
    ASSERT_TRUE(now);
    EXPECT_EQ(now->time_ps, 1000u);
    EXPECT_EQ(now->cycle, 10u);
  }
}

TEST(ProtoMessages, ErrorRoundTrip) {
  Error e{ErrorCode::kBusy, "another client is attached"};
  Bytes msg = encode_error(MsgType::kHello, 3, SimTime{5, 6}, e);
  Header h = header_of(msg);
  EXPECT_EQ(h.flags, kFlagReply | kFlagError);
  EXPECT_EQ(h.seq, 3u);
  EXPECT_EQ(check_reply_header(h), ErrorCode::kNone);
  auto payload = payload_of(msg);
  ASSERT_EQ(payload.size(), h.length);
  auto d = decode_error(payload.subspan(kReplyPrefixSize));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code, ErrorCode::kBusy);
  EXPECT_EQ(d->message, e.message);
}

TEST(ProtoMessages, ErrorWithHugeMessageIsTruncatedToMaxPayload) {
  Error e{ErrorCode::kBadLength, std::string(10000, 'x')};
  Bytes msg = encode_error(MsgType::kMmioRead, 1, SimTime{}, e);
  Header h = header_of(msg);
  EXPECT_LE(h.length, kMaxPayload);
  EXPECT_EQ(check_reply_header(h), ErrorCode::kNone);
  auto d = decode_error(payload_of(msg).subspan(kReplyPrefixSize));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->message.size(), kMaxPayload - kReplyPrefixSize - 8);
}

TEST(ProtoMessages, ErrorForUnknownTypeIsAcceptedAsReply) {
  Error e{ErrorCode::kBadType, "unknown"};
  Bytes msg = encode_error(static_cast<MsgType>(99), 1, SimTime{}, e);
  EXPECT_EQ(check_reply_header(header_of(msg)), ErrorCode::kNone);
}

TEST(ProtoStrings, EveryCodeAndTypeHasAName) {
  for (uint32_t c = 0; c <= 9; ++c) {
    EXPECT_NE(to_string(static_cast<ErrorCode>(c)), "unknown error") << c;
  }
  EXPECT_EQ(to_string(static_cast<ErrorCode>(1000)), "unknown error");
  for (MsgType t : kAllTypes) {
    EXPECT_NE(to_string(t), "UNKNOWN");
  }
  EXPECT_EQ(to_string(static_cast<MsgType>(0)), "UNKNOWN");
}

// --- request header checks ---

TEST(ProtoRequestHeader, BadMagic) {
  Header h = request_header(MsgType::kMmioRead, 8);
  h.magic = 0x4B56435Bu;
  EXPECT_EQ(check_request_header(h), ErrorCode::kBadMagic);
  h.magic = 0;
  EXPECT_EQ(check_request_header(h), ErrorCode::kBadMagic);
}

TEST(ProtoRequestHeader, FlagsOnARequest) {
  for (uint16_t f : {uint16_t{kFlagReply}, uint16_t{kFlagError}, uint16_t{0x8000}}) {
    Header h = request_header(MsgType::kMmioRead, 8);
    h.flags = f;
    EXPECT_EQ(check_request_header(h), ErrorCode::kBadFlags) << f;
  }
}

TEST(ProtoRequestHeader, UnknownType) {
  for (uint16_t t : {uint16_t{0}, uint16_t{12}, uint16_t{0x100}, uint16_t{0xFFFF}}) {
    Header h;
    h.type = t;
    h.length = 0;
    EXPECT_EQ(check_request_header(h), ErrorCode::kBadType) << t;
  }
}

TEST(ProtoRequestHeader, WrongLength) {
  for (MsgType t : kAllTypes) {
    size_t want = *request_length(t);
    EXPECT_EQ(check_request_header(request_header(t, static_cast<uint32_t>(want))),
              ErrorCode::kNone);
    EXPECT_EQ(check_request_header(request_header(t, static_cast<uint32_t>(want + 1))),
              ErrorCode::kBadLength)
        << to_string(t);
    if (want > 0) {
      EXPECT_EQ(check_request_header(request_header(t, static_cast<uint32_t>(want - 1))),
                ErrorCode::kBadLength)
          << to_string(t);
    }
  }
}

TEST(ProtoRequestHeader, OversizedLength) {
  for (uint32_t len : {uint32_t{kMaxPayload + 1}, 0x10000u, 0xFFFFFFFFu}) {
    EXPECT_EQ(check_request_header(request_header(MsgType::kHello, len)), ErrorCode::kBadLength);
  }
}

// --- reply header checks ---

TEST(ProtoReplyHeader, NeedsReplyFlag) {
  EXPECT_EQ(check_reply_header(reply_header(MsgType::kMmioRead, 24, 0)), ErrorCode::kBadFlags);
  EXPECT_EQ(check_reply_header(reply_header(MsgType::kMmioRead, 24, kFlagError)),
            ErrorCode::kBadFlags);
  EXPECT_EQ(check_reply_header(reply_header(MsgType::kMmioRead, 24, kFlagReply | 0x4)),
            ErrorCode::kBadFlags);
  EXPECT_EQ(check_reply_header(reply_header(MsgType::kMmioRead, 24)), ErrorCode::kNone);
}

TEST(ProtoReplyHeader, BadMagic) {
  Header h = reply_header(MsgType::kMmioRead, 24);
  h.magic ^= 1;
  EXPECT_EQ(check_reply_header(h), ErrorCode::kBadMagic);
}

TEST(ProtoReplyHeader, UnknownTypeOnlyWithErrorFlag) {
  Header h;
  h.type = 42;
  h.flags = kFlagReply;
  h.length = 16;
  EXPECT_EQ(check_reply_header(h), ErrorCode::kBadType);
  h.flags = kFlagReply | kFlagError;
  h.length = 24;
  EXPECT_EQ(check_reply_header(h), ErrorCode::kNone);
}

TEST(ProtoReplyHeader, LengthMustIncludePrefixAndMatchType) {
  for (MsgType t : kAllTypes) {
    auto len = reply_length(t);
    uint32_t good = static_cast<uint32_t>(kReplyPrefixSize + len.value_or(0));
    if (len) {
      EXPECT_EQ(check_reply_header(reply_header(t, good)), ErrorCode::kNone) << to_string(t);
    } else {
      EXPECT_EQ(check_reply_header(reply_header(t, good)), ErrorCode::kBadLength)
          << "a posted write has no non-error reply";
    }
    EXPECT_EQ(check_reply_header(reply_header(t, good + 1)), ErrorCode::kBadLength);
    EXPECT_EQ(check_reply_header(reply_header(t, kReplyPrefixSize - 1)), ErrorCode::kBadLength);
    EXPECT_EQ(check_reply_header(reply_header(t, 0)), ErrorCode::kBadLength);
  }
}

TEST(ProtoReplyHeader, ErrorRepliesHaveVariableLengthWithinBounds) {
  uint16_t f = kFlagReply | kFlagError;
  EXPECT_EQ(check_reply_header(reply_header(MsgType::kMmioWritePosted, 24, f)), ErrorCode::kNone);
  EXPECT_EQ(check_reply_header(reply_header(MsgType::kMmioRead, kMaxPayload, f)), ErrorCode::kNone);
  EXPECT_EQ(check_reply_header(reply_header(MsgType::kMmioRead, kMaxPayload + 1, f)),
            ErrorCode::kBadLength);
  EXPECT_EQ(check_reply_header(reply_header(MsgType::kMmioRead, kReplyPrefixSize - 1, f)),
            ErrorCode::kBadLength);
}

// --- body checks ---

TEST(ProtoBodies, WrongLengthRejected) {
  Bytes b(200, 0);
  auto sized = [&](size_t n) { return std::span<const uint8_t>(b).first(n); };
  for (size_t n = 0; n < 100; ++n) {
    EXPECT_EQ(decode_hello(sized(n)).has_value(), n == 4) << n;
    EXPECT_EQ(decode_hello_reply(sized(n)).has_value(), n == 16) << n;
    EXPECT_EQ(decode_mmio_read(sized(n)).has_value(), n == 8) << n;
    EXPECT_EQ(decode_mmio_read_reply(sized(n)).has_value(), n == 8) << n;
    EXPECT_EQ(decode_mmio_write(sized(n)).has_value(), n == 16) << n;
    EXPECT_EQ(decode_mmio_write_reply(sized(n)).has_value(), n == 4) << n;
    EXPECT_EQ(decode_stats(sized(n)).has_value(), n == 120) << n;
    EXPECT_EQ(decode_stats(sized(n), 0).has_value(), n == 64) << n;
    EXPECT_EQ(decode_mem_map(sized(n)).has_value(), n == 24) << n;
    EXPECT_EQ(decode_mem_unmap(sized(n)).has_value(), n == 8) << n;
    EXPECT_EQ(decode_irq_bind(sized(n)).has_value(), n == 4) << n;
    EXPECT_EQ(decode_sim_time(sized(n)).has_value(), n >= 16) << n;
    EXPECT_EQ(decode_error(sized(n)).has_value(), n == 8) << n;  // zero-length message
  }
}

TEST(ProtoBodies, StrobeAboveFourLanesRejected) {
  for (uint32_t strb : {0x10u, 0x1Fu, 0x80000000u, 0xFFFFFFFFu}) {
    Bytes b;
    encode(MmioWrite{0, 0, 0, strb}, b);
    EXPECT_FALSE(decode_mmio_write(b)) << strb;
  }
}

TEST(ProtoBodies, ReservedRespRejected) {
  for (uint32_t r : {4u, 5u, 0xFFu, 0xFFFFFFFFu}) {
    Bytes rb;
    encode(MmioReadReply{0, static_cast<Resp>(r)}, rb);
    EXPECT_FALSE(decode_mmio_read_reply(rb)) << r;
    Bytes wb;
    encode(MmioWriteReply{static_cast<Resp>(r)}, wb);
    EXPECT_FALSE(decode_mmio_write_reply(wb)) << r;
  }
}

TEST(ProtoBodies, ErrorWithInconsistentLengthRejected) {
  Bytes msg = encode_error(MsgType::kHello, 1, SimTime{}, Error{ErrorCode::kBusy, "busy!"});
  Bytes body(msg.begin() + kHeaderSize + kReplyPrefixSize, msg.end());
  ASSERT_TRUE(decode_error(body));
  Bytes shorter(body.begin(), body.end() - 1);  // length field says 5, 4 bytes follow
  EXPECT_FALSE(decode_error(shorter));
  Bytes longer = body;  // 6 bytes follow
  longer.push_back('x');
  EXPECT_FALSE(decode_error(longer));
  Bytes huge = body;  // length field 0xFFFFFFFF
  huge[4] = huge[5] = huge[6] = huge[7] = 0xFF;
  EXPECT_FALSE(decode_error(huge));
  EXPECT_FALSE(decode_error(std::span<const uint8_t>(body).first(7)));
}

// --- fuzz ---

uint32_t fuzz_seed() {
  if (const char* s = std::getenv("KVCPU_FUZZ_SEED")) {
    return static_cast<uint32_t>(std::strtoul(s, nullptr, 0));
  }
  return 0x4B564353u;
}

// Random buffers must never crash a decoder, and a decoder must never accept a body whose
// size is not the one its type has. Random headers must only pass the checks when every
// field is consistent.
TEST(ProtoFuzz, RandomBuffersNeverAcceptMisSizedBodies) {
  const uint32_t seed = fuzz_seed();
  std::printf("proto fuzz seed 0x%08X (override with KVCPU_FUZZ_SEED)\n", seed);
  std::mt19937 rng(seed);
  constexpr int kIterations = 200000;
  const size_t interesting[] = {0, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 63, 64, 65, 119, 120, 121};
  Bytes buf(kMaxPayload + 64);
  int accepted = 0;
  for (int i = 0; i < kIterations; ++i) {
    size_t n;
    switch (rng() % 3) {
      case 0:
        n = interesting[rng() % std::size(interesting)];
        break;
      case 1:
        n = rng() % 80;
        break;
      default:
        n = rng() % buf.size();
        break;
    }
    for (size_t j = 0; j < n; ++j) {
      buf[j] = static_cast<uint8_t>(rng());
    }
    if (rng() % 4 == 0 && n >= 8) {  // make decode_error's length field plausible
      uint32_t len = static_cast<uint32_t>(n - 8 + (rng() % 3) - 1);
      for (int k = 0; k < 4; ++k) {
        buf[4 + k] = static_cast<uint8_t>(len >> (8 * k));
      }
    }
    std::span<const uint8_t> in(buf.data(), n);
    if (decode_hello(in)) {
      ASSERT_EQ(n, 4u);
      ++accepted;
    }
    if (decode_hello_reply(in)) {
      ASSERT_EQ(n, 16u);
      ++accepted;
    }
    if (decode_mmio_read(in)) {
      ASSERT_EQ(n, 8u);
      ++accepted;
    }
    if (auto r = decode_mmio_read_reply(in)) {
      ASSERT_EQ(n, 8u);
      ASSERT_LE(static_cast<uint32_t>(r->resp), 3u);
      ++accepted;
    }
    if (auto w = decode_mmio_write(in)) {
      ASSERT_EQ(n, 16u);
      ASSERT_LE(w->strb, 0xFu);
      ++accepted;
    }
    if (auto w = decode_mmio_write_reply(in)) {
      ASSERT_EQ(n, 4u);
      ASSERT_LE(static_cast<uint32_t>(w->resp), 3u);
      ++accepted;
    }
    if (decode_stats(in)) {
      ASSERT_EQ(n, 120u);
      ++accepted;
    }
    if (decode_sim_time(in)) {
      ASSERT_GE(n, 16u);
    }
    if (auto e = decode_error(in)) {
      ASSERT_EQ(n, 8u + e->message.size());
      ++accepted;
    }
    if (n >= kHeaderSize) {
      Header h = decode_header(std::span<const uint8_t, kHeaderSize>(buf.data(), kHeaderSize));
      if (rng() % 2 == 0) {  // steer towards valid headers to reach the deeper checks
        h.magic = kMagic;
        h.type = static_cast<uint16_t>(h.type % 13);
        h.flags = static_cast<uint16_t>(h.flags % 4);
        h.length = h.length % 80;
      }
      if (check_request_header(h) == ErrorCode::kNone) {
        ASSERT_EQ(h.magic, kMagic);
        ASSERT_EQ(h.flags, 0);
        ASSERT_EQ(h.length, *request_length(static_cast<MsgType>(h.type)));
      }
      if (check_reply_header(h) == ErrorCode::kNone) {
        ASSERT_EQ(h.magic, kMagic);
        ASSERT_NE(h.flags & kFlagReply, 0);
        ASSERT_LE(h.length, kMaxPayload);
        ASSERT_GE(h.length, kReplyPrefixSize);
        if ((h.flags & kFlagError) == 0) {
          ASSERT_EQ(h.length, kReplyPrefixSize + *reply_length(static_cast<MsgType>(h.type)));
        }
      }
    }
  }
  std::printf("proto fuzz: %d iterations, %d bodies accepted\n", kIterations, accepted);
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace kvcpu::proto
