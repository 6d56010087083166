#include "metrics/instruments.h"

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace messaging::metrics {
namespace {

using ::testing::ElementsAre;

constexpr int kThreads = 4;
constexpr int kPerThread = 100000;

// Runs `work` on kThreads threads at once and waits for them.
template <typename Work>
void OnThreads(Work work) {
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(work);
  for (std::thread& thread : threads) thread.join();
}

TEST(CounterTest, CountsWhatItIsGiven) {
  Counter counter;
  EXPECT_EQ(counter.Value(), 0u);
  counter.Increment();
  counter.Increment(41);
  EXPECT_EQ(counter.Value(), 42u);
}

TEST(CounterTest, LosesNoIncrementAcrossThreads) {
  Counter counter;
  OnThreads([&] {
    for (int i = 0; i < kPerThread; ++i) counter.Increment();
  });
  EXPECT_EQ(counter.Value(), uint64_t{kThreads} * kPerThread);
}

TEST(CounterTest, EachCounterHasACacheLineOfItsOwn) {
  EXPECT_EQ(sizeof(Counter), kCacheLine);
  CounterVector counters({"a", "b"});
  EXPECT_EQ(reinterpret_cast<const char*>(&counters.counter(1)) -
                reinterpret_cast<const char*>(&counters.counter(0)),
            static_cast<ptrdiff_t>(kCacheLine));
}

TEST(CounterVectorTest, KeepsOneCounterPerLabelValue) {
  CounterVector counters({"OK", "CANCELLED", "UNKNOWN"});
  ASSERT_EQ(counters.size(), 3u);
  counters.at(1).Increment(2);
  counters.at(2).Increment();
  EXPECT_EQ(counters.label_value(1), "CANCELLED");
  EXPECT_EQ(counters.counter(0).Value(), 0u);
  EXPECT_EQ(counters.counter(1).Value(), 2u);
  EXPECT_EQ(counters.counter(2).Value(), 1u);
}

TEST(CounterVectorDeathTest, AnIndexPastTheEndAborts) {
  CounterVector counters({"OK", "CANCELLED"});
  EXPECT_DEATH(counters.at(2).Increment(),
               "metrics: counter index 2 is past the 2 label values");
}

TEST(GaugeTest, SetsAndAdds) {
  Gauge gauge;
  gauge.Set(2.5);
  gauge.Add(-1);
  EXPECT_EQ(gauge.Value(), 1.5);
}

TEST(GaugeTest, LosesNoAddAcrossThreads) {
  Gauge gauge;
  OnThreads([&] {
    for (int i = 0; i < kPerThread; ++i) {
      gauge.Add(1);
      gauge.Add(-1);
      gauge.Add(1);
    }
  });
  EXPECT_EQ(gauge.Value(), kThreads * kPerThread);
}

TEST(HistogramTest, CountsAValueInTheFirstBucketItDoesNotExceed) {
  Histogram histogram({1, 2, 4});
  for (double value : {0.0, 1.0, 1.5, 2.0, 4.0, 4.5, -3.0}) {
    histogram.Observe(value);
  }
  const Histogram::Snapshot snapshot = histogram.Read();
  // (-inf, 1], (1, 2], (2, 4], (4, +inf)
  EXPECT_THAT(snapshot.bucket_counts, ElementsAre(3, 2, 1, 1));
  EXPECT_EQ(snapshot.sum, 10);
  EXPECT_THAT(histogram.upper_bounds(), ElementsAre(1, 2, 4));
}

TEST(HistogramTest, NanGoesToInfAndMakesTheSumNan) {
  Histogram histogram({1});
  histogram.Observe(std::nan(""));
  const Histogram::Snapshot snapshot = histogram.Read();
  EXPECT_THAT(snapshot.bucket_counts, ElementsAre(0, 1));
  EXPECT_TRUE(std::isnan(snapshot.sum));
}

TEST(HistogramTest, LosesNoObservationAcrossThreads) {
  Histogram histogram({0.5, 1.5});
  OnThreads([&] {
    for (int i = 0; i < kPerThread; ++i) histogram.Observe(i % 2);
  });
  const Histogram::Snapshot snapshot = histogram.Read();
  const uint64_t half = uint64_t{kThreads} * kPerThread / 2;
  EXPECT_THAT(snapshot.bucket_counts, ElementsAre(half, half, 0));
  // Integers this small add up exactly in doubles.
  EXPECT_EQ(snapshot.sum, static_cast<double>(half));
}

TEST(HistogramDeathTest, BoundsMustBeFiniteAndIncreasing) {
  EXPECT_DEATH(Histogram({}), "a histogram needs at least one bound");
  EXPECT_DEATH(Histogram({1, 1}),
               "histogram bound 1 at 1 is not finite and above the one before");
  EXPECT_DEATH(Histogram({2, 1}), "bound 1 at 1 is not finite");
  EXPECT_DEATH(Histogram({1, std::numeric_limits<double>::infinity()}),
               "bound inf at 1 is not finite");
}

TEST(ExponentialBucketsTest, MultipliesFromTheStart) {
  EXPECT_THAT(ExponentialBuckets(0.001, 10, 4),
              ElementsAre(0.001, 0.01, 0.1, 1));
  EXPECT_THAT(ExponentialBuckets(64, 4, 3), ElementsAre(64, 256, 1024));
  EXPECT_THAT(ExponentialBuckets(5, 2, 1), ElementsAre(5));
}

TEST(ExponentialBucketsDeathTest, RejectsWhatCannotGrow) {
  EXPECT_DEATH(ExponentialBuckets(0, 2, 3), "needs start > 0, factor > 1");
  EXPECT_DEATH(ExponentialBuckets(1, 1, 3), "needs start > 0, factor > 1");
  EXPECT_DEATH(ExponentialBuckets(1, 2, 0), "count >= 1");
  EXPECT_DEATH(ExponentialBuckets(1e300, 1e10, 3), "is not finite");
}

}  // namespace
}  // namespace messaging::metrics
