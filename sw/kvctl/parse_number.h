// Strict parsing of command-line numbers for kvctl.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace kvctl {

// Decimal ("42") or hex with a 0x/0X prefix ("0x2A"). Rejects empty input, a bare "0x",
// signs, whitespace, any other character and values above `max`.
std::optional<uint64_t> parse_number(std::string_view text, uint64_t max = UINT64_MAX);

}  // namespace kvctl
