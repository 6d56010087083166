#include "consumer_service/heap_trimmer.h"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace messaging {
namespace {

size_t ResidentBytes() {
  size_t pages = 0, resident = 0;
  std::ifstream("/proc/self/statm") >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// 256 MiB in small blocks, freed but for every 64th, so that the free
// memory lies between live blocks, where glibc never returns it by itself.
std::vector<std::unique_ptr<char[]>> FragmentTheHeap() {
  constexpr size_t kBlock = 4096;
  std::vector<std::unique_ptr<char[]>> blocks(size_t{256 << 20} / kBlock);
  for (auto& block : blocks) {
    block.reset(new char[kBlock]);
    std::fill_n(block.get(), kBlock, 1);
  }
  std::vector<std::unique_ptr<char[]>> kept;
  for (size_t i = 0; i < blocks.size(); i += 64) {
    kept.push_back(std::move(blocks[i]));
  }
  return kept;
}

TEST(HeapTrimmerTest, GivesFreeMemoryBackOnlyAboveTheBound) {
  const std::vector<std::unique_ptr<char[]>> kept = FragmentTheHeap();
  const size_t before = ResidentBytes();
  EXPECT_EQ(HeapTrimmer::TrimIfFreeAbove(size_t{1} << 40), 0u);
  EXPECT_GT(ResidentBytes(), before - (size_t{16} << 20));
#ifdef __SANITIZE_ADDRESS__
  // AddressSanitizer's allocator replaces glibc's (--config=asan): glibc's
  // heaps hold none of the freed memory, so there is nothing to trim.
  EXPECT_EQ(HeapTrimmer::TrimIfFreeAbove(size_t{32} << 20), 0u);
#else
  EXPECT_GT(HeapTrimmer::TrimIfFreeAbove(size_t{32} << 20), size_t{200} << 20);
  EXPECT_LT(ResidentBytes(), before - (size_t{150} << 20));
#endif
}

TEST(HeapTrimmerTest, StopsPromptly) {
  const auto start = std::chrono::steady_clock::now();
  { HeapTrimmer trimmer(absl::Hours(1), 0); }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

}  // namespace
}  // namespace messaging
