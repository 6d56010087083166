// The producer's run: numbers and builds the demo's Mensaje sequence and
// streams it into a consumer (produce_stream.h), closing each stream
// (WritesDone) as the FIN signal. It keeps every message until the
// consumer confirms it, and after any failure backs off, reconnects and
// resumes right after the last sequence the consumer holds
// (GetProducerState), so nothing is lost or duplicated; at the end it
// prints the consumer's summary.
//
// Usage:
//   ProducerOptions options;
//   options.producer_id = "host-1";
//   options.count = 10;
//   absl::Status done = RunProducer(options, std::cout);
#ifndef PRODUCER_SERVICE_PRODUCER_H_
#define PRODUCER_SERVICE_PRODUCER_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "producer_service/producer_options.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

// Whether a failed call may succeed if tried again: the consumer or the
// network was unavailable, not the request wrong.
bool IsRetryable(absl::StatusCode code, bool consumer_asked_to_retry);

// Connects to options.target (waiting up to options.connect_timeout), sends
// the messages, retrying and resuming after failures until
// options.deadline, then prints the consumer's summary and the demo's
// closing line to `out`. SIGINT/SIGTERM stop it early (CANCELLED), and so
// does options.deadline passing during a stream (DEADLINE_EXCEEDED, saying
// how many were sent), each after a clean close that has everything sent
// confirmed. Requires BlockTerminationSignals() before any thread starts.
absl::Status RunProducer(const ProducerOptions& options, std::ostream& out);

}  // namespace messaging

#endif  // PRODUCER_SERVICE_PRODUCER_H_
