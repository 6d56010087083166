#include "consumer_service/direct_appender.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace messaging {
namespace {

constexpr size_t kBlock = DirectAppender::kBlockBytes;

bool Aligned(const void* memory) {
  return reinterpret_cast<uintptr_t>(memory) % kBlock == 0;
}

TEST(DirectAppenderTest, StagesWholeZeroPaddedBlocksFromAlignedMemory) {
  DirectAppender appender;
  appender.Reset(0, "");
  const absl::string_view blocks = appender.Stage("records");
  EXPECT_TRUE(Aligned(blocks.data()));
  ASSERT_EQ(blocks.size(), kBlock);
  EXPECT_EQ(blocks.substr(0, 7), "records");
  EXPECT_EQ(blocks.substr(7), std::string(kBlock - 7, '\0'));
  EXPECT_EQ(appender.offset(), 0u);
}

TEST(DirectAppenderTest, TheNextWriteRepeatsThePartialBlockAndGoesOn) {
  DirectAppender appender;
  appender.Reset(0, "");
  appender.Stage(std::string(kBlock + 10, 'a'));
  appender.Commit();
  EXPECT_EQ(appender.file_bytes(), kBlock + 10);
  EXPECT_EQ(appender.offset(), kBlock);

  const absl::string_view blocks = appender.Stage("bb");
  EXPECT_TRUE(Aligned(blocks.data()));
  ASSERT_EQ(blocks.size(), kBlock);
  EXPECT_EQ(blocks.substr(0, 12), std::string(10, 'a') + "bb");
  EXPECT_EQ(blocks.substr(12), std::string(kBlock - 12, '\0'));
}

TEST(DirectAppenderTest, AWriteEndingOnABoundaryLeavesNoPartialBlock) {
  DirectAppender appender;
  appender.Reset(kBlock - 3, "xyz");
  const absl::string_view blocks = appender.Stage("abc");
  ASSERT_EQ(blocks.size(), kBlock);
  EXPECT_EQ(blocks.substr(0, 3), "xyz");
  appender.Commit();
  EXPECT_EQ(appender.offset(), kBlock);
  EXPECT_EQ(appender.Stage("d").substr(0, 2), std::string("d\0", 2));
}

TEST(DirectAppenderTest, AnUncommittedStageIsStagedAgainFromTheSameBlock) {
  // A failed write is retried with the same records at the same offset.
  DirectAppender appender;
  appender.Reset(5, "12345");
  appender.Stage(std::string(3 * kBlock, 'r'));
  const absl::string_view retry = appender.Stage("r");
  EXPECT_EQ(appender.offset(), 0u);
  EXPECT_EQ(retry.substr(0, 6), "12345r");
}

TEST(DirectAppenderTest, KeepsThePartialBlockWhenTheBufferGrows) {
  DirectAppender appender;
  appender.Reset(2 * kBlock + 4, "tail");
  const absl::string_view blocks =
      appender.Stage(std::string(10 * kBlock, 'g'));
  EXPECT_TRUE(Aligned(blocks.data()));
  EXPECT_EQ(blocks.size(), 11 * kBlock);
  EXPECT_EQ(blocks.substr(0, 5), "tailg");
  EXPECT_EQ(appender.offset(), 2 * kBlock);
}

TEST(DirectAppenderTest, StartReadsThePartialBlockOfTheFile) {
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR")) + "/start_reads_the_tail";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  const std::string contents = std::string(kBlock, 'o') + "partial";
  ASSERT_EQ(write(fd, contents.data(), contents.size()),
            static_cast<ssize_t>(contents.size()));

  DirectAppender appender;
  // The test's directory is on a file system with O_DIRECT (ext4 here);
  // where it is not, Start says so and the log writes through the cache.
  if (appender.Start(fd, contents.size())) {
    EXPECT_NE(fcntl(fd, F_GETFL) & O_DIRECT, 0);
    const absl::string_view blocks = appender.Stage("+more");
    ASSERT_EQ(pwrite(fd, blocks.data(), blocks.size(),
                     static_cast<off_t>(appender.offset())),
              static_cast<ssize_t>(blocks.size()));
    appender.Commit();
  } else {
    EXPECT_EQ(fcntl(fd, F_GETFL) & O_DIRECT, 0);
    ASSERT_EQ(pwrite(fd, "+more", 5, static_cast<off_t>(contents.size())), 5);
  }
  close(fd);
  std::string read_back(contents.size() + 5, '\0');
  const int reader = open(path.c_str(), O_RDONLY);
  ASSERT_EQ(pread(reader, read_back.data(), read_back.size(), 0),
            static_cast<ssize_t>(read_back.size()));
  close(reader);
  EXPECT_EQ(read_back, contents + "+more");
}

}  // namespace
}  // namespace messaging
