#include "consumer_service/consumer_stats.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace messaging {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

v1::Mensaje Message(const std::string& producer_id, uint64_t sequence) {
  v1::Mensaje message;
  message.set_producer_id(producer_id);
  message.set_sequence(sequence);
  message.set_text("abcd");
  return message;
}

TEST(ConsumerStatsRecorderTest, StartsEmptyWithUptime) {
  ConsumerStatsRecorder stats(kStart);
  v1::ConsumerStats snapshot = stats.Snapshot(kStart + absl::Seconds(3));
  EXPECT_EQ(snapshot.uptime().seconds(), 3);
  EXPECT_EQ(snapshot.active_streams(), 0u);
  EXPECT_EQ(snapshot.messages_received(), 0u);
  EXPECT_EQ(snapshot.producers_size(), 0);
}

TEST(ConsumerStatsRecorderTest, TracksStreamsAndProducersInIdOrder) {
  ConsumerStatsRecorder stats(kStart);
  stats.StreamStarted();
  stats.StreamStarted();
  stats.StreamStarted();
  stats.MessageAccepted(Message("zeta", 0));
  stats.MessageAccepted(Message("alpha", 4));
  stats.MessageAccepted(Message("alpha", 5));
  stats.StreamEnded(/*completed=*/true);
  stats.StreamEnded(/*completed=*/false);

  v1::ConsumerStats snapshot = stats.Snapshot(kStart);
  EXPECT_EQ(snapshot.active_streams(), 1u);
  EXPECT_EQ(snapshot.completed_streams(), 1u);
  EXPECT_EQ(snapshot.failed_streams(), 1u);
  EXPECT_EQ(snapshot.messages_received(), 3u);
  EXPECT_EQ(snapshot.bytes_received(), 12u);
  ASSERT_EQ(snapshot.producers_size(), 2);
  EXPECT_EQ(snapshot.producers(0).producer_id(), "alpha");
  EXPECT_EQ(snapshot.producers(0).messages_received(), 2u);
  EXPECT_EQ(snapshot.producers(0).last_sequence(), 5u);
  EXPECT_EQ(snapshot.producers(1).producer_id(), "zeta");
  EXPECT_EQ(snapshot.producers(1).last_sequence(), 0u);
}

TEST(ConsumerStatsRecorderTest, CountsEveryMessageFromConcurrentStreams) {
  ConsumerStatsRecorder stats(kStart);
  constexpr int kThreads = 8;
  constexpr int kMessagesPerThread = 10'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&stats, t] {
      stats.StreamStarted();
      for (int i = 0; i < kMessagesPerThread; ++i) {
        stats.MessageAccepted(Message("p" + std::to_string(t), i));
      }
      stats.StreamEnded(/*completed=*/true);
    });
  }
  for (std::thread& thread : threads) thread.join();
  v1::ConsumerStats snapshot = stats.Snapshot(kStart);
  EXPECT_EQ(snapshot.messages_received(), kThreads * kMessagesPerThread);
  EXPECT_EQ(snapshot.completed_streams(), static_cast<uint64_t>(kThreads));
  EXPECT_EQ(snapshot.active_streams(), 0u);
  ASSERT_EQ(snapshot.producers_size(), kThreads);
  for (const v1::ProducerStats& producer : snapshot.producers()) {
    EXPECT_EQ(producer.last_sequence(), kMessagesPerThread - 1u);
  }
}

}  // namespace
}  // namespace messaging
