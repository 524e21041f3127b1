#include "bpnet/communicator.hpp"

#include <algorithm>

namespace bpnet {
namespace {

template <typename T>
void copy_unless_same(std::span<const T> mine, std::span<T> all) {
  if (mine.data() != all.data()) std::copy(mine.begin(), mine.end(), all.begin());
}

}  // namespace

void LocalCommunicator::all_gather(std::span<const float> mine, std::span<float> all) { copy_unless_same(mine, all); }
void LocalCommunicator::all_gather(std::span<const double> mine, std::span<double> all) {
  copy_unless_same(mine, all);
}

}  // namespace bpnet
