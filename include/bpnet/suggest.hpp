// "Did you mean" suggestions for misspelt names: layer types, flags, commands.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace bpnet {

// The candidate closest to `text` (case-insensitive edit distance) if it is
// close enough to be a likely typo, else an empty string.
std::string nearest_name(std::string_view text, std::span<const std::string_view> candidates);

}  // namespace bpnet
