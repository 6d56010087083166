#include "consumer_service/consumer_stats.h"

#include <algorithm>

#include "consumer_service/consume_stream.h"
#include "google/protobuf/util/time_util.h"

namespace messaging {

void ConsumerStatsRecorder::StreamStarted() {
  absl::MutexLock lock(&mutex_);
  ++active_streams_;
}

void ConsumerStatsRecorder::MessageAccepted(const v1::Mensaje& message) {
  absl::MutexLock lock(&mutex_);
  ++messages_received_;
  bytes_received_ += CountedBytes(message);
  PerProducer& producer = producers_[message.producer_id()];
  ++producer.messages_received;
  producer.last_sequence = std::max(producer.last_sequence, message.sequence());
}

void ConsumerStatsRecorder::StreamEnded(bool completed) {
  absl::MutexLock lock(&mutex_);
  --active_streams_;
  ++(completed ? completed_streams_ : failed_streams_);
}

v1::ConsumerStats ConsumerStatsRecorder::Snapshot(absl::Time now) const {
  v1::ConsumerStats stats;
  *stats.mutable_uptime() =
      google::protobuf::util::TimeUtil::NanosecondsToDuration(
          absl::ToInt64Nanoseconds(now - started_at_));
  absl::MutexLock lock(&mutex_);
  stats.set_active_streams(active_streams_);
  stats.set_completed_streams(completed_streams_);
  stats.set_failed_streams(failed_streams_);
  stats.set_messages_received(messages_received_);
  stats.set_bytes_received(bytes_received_);
  for (const auto& [producer_id, totals] : producers_) {
    v1::ProducerStats* producer = stats.add_producers();
    producer->set_producer_id(producer_id);
    producer->set_messages_received(totals.messages_received);
    producer->set_last_sequence(totals.last_sequence);
  }
  return stats;
}

}  // namespace messaging
