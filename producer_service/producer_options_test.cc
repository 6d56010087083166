#include "producer_service/producer_options.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace messaging {
namespace {

ProducerOptions ValidOptions() {
  ProducerOptions options;
  options.producer_id = "producer-1";
  return options;
}

TEST(ValidateProducerOptionsTest, DefaultsWithAProducerIdAreValid) {
  EXPECT_TRUE(ValidateProducerOptions(ValidOptions()).ok());
}

TEST(ValidateProducerOptionsTest, EachBadValueNamesItsFlag) {
  struct Case {
    const char* flag;
    void (*breaks)(ProducerOptions&);
  };
  const Case cases[] = {
      {"--target", [](ProducerOptions& o) { o.target = ""; }},
      {"--count", [](ProducerOptions& o) { o.count = -1; }},
      {"--interval",
       [](ProducerOptions& o) { o.interval = absl::Seconds(-1); }},
      {"--payload_bytes", [](ProducerOptions& o) { o.payload_bytes = -5; }},
      {"--payload_bytes",
       [](ProducerOptions& o) { o.payload_bytes = int64_t{1} << 40; }},
      {"--producer_id", [](ProducerOptions& o) { o.producer_id = ""; }},
      {"--connect_timeout",
       [](ProducerOptions& o) { o.connect_timeout = absl::ZeroDuration(); }},
      {"--deadline",
       [](ProducerOptions& o) { o.deadline = absl::Seconds(-1); }},
      {"--max_unconfirmed", [](ProducerOptions& o) { o.max_unconfirmed = 0; }},
      {"--initial_backoff",
       [](ProducerOptions& o) { o.initial_backoff = absl::ZeroDuration(); }},
      {"--max_backoff",
       [](ProducerOptions& o) { o.max_backoff = absl::Milliseconds(1); }},
      {"--batch_size", [](ProducerOptions& o) { o.batch_size = 0; }},
      {"--batch_delay",
       [](ProducerOptions& o) { o.batch_delay = absl::Seconds(-1); }},
      {"--streams", [](ProducerOptions& o) { o.streams = 0; }},
      {"--channels", [](ProducerOptions& o) { o.channels = 0; }},
      {"--rate", [](ProducerOptions& o) { o.rate = -1; }},
      {"--rate", [](ProducerOptions& o) { o.rate = 100; }},  // and --interval
  };
  for (const Case& c : cases) {
    ProducerOptions options = ValidOptions();
    c.breaks(options);
    absl::Status status = ValidateProducerOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.flag;
    EXPECT_NE(status.message().find(c.flag), std::string::npos) << status;
  }
}

TEST(ValidateProducerOptionsTest, ShardsAndPlaceholderGoTogether) {
  ProducerOptions options = ValidOptions();
  options.consumer_shards = 3;
  EXPECT_NE(ValidateProducerOptions(options).message().find("{shard}"),
            std::string::npos);
  options.target = "dns:///consumer-{shard}.consumer-headless:50051";
  EXPECT_TRUE(ValidateProducerOptions(options).ok());
  options.consumer_shards = 1;
  EXPECT_FALSE(ValidateProducerOptions(options).ok());
  options.consumer_shards = 0;
  EXPECT_NE(
      ValidateProducerOptions(options).message().find("--consumer_shards=0"),
      std::string::npos);
}

TEST(ConsumerShardTest, IsStableAndSpreadsProducers) {
  // Pinned values: a change of the hash would move running producers away
  // from the consumers that hold their state.
  EXPECT_EQ(ConsumerShard("producer-0", 3), 2);
  EXPECT_EQ(ConsumerShard("producer-1", 3), 0);
  EXPECT_EQ(ConsumerShard("consumer-job-abc12", 5), 2);
  std::vector<int> per_shard(3, 0);
  for (int i = 0; i < 300; ++i) {
    const int shard = ConsumerShard("producer-" + std::to_string(i), 3);
    ASSERT_GE(shard, 0);
    ASSERT_LT(shard, 3);
    ++per_shard[shard];
  }
  for (int count : per_shard) EXPECT_GT(count, 60);
}

TEST(ResolveTargetTest, ReplacesTheShardPlaceholder) {
  ProducerOptions options = ValidOptions();
  EXPECT_EQ(ResolveTarget(options), options.target);
  options.target = "dns:///consumer-{shard}.consumer-headless:50051";
  options.consumer_shards = 4;
  EXPECT_EQ(ResolveTarget(options),
            "dns:///consumer-" +
                std::to_string(ConsumerShard(options.producer_id, 4)) +
                ".consumer-headless:50051");
}

}  // namespace
}  // namespace messaging
