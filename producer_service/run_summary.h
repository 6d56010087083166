// The consumer's summaries as the producer reports them: the streams of a
// run added up into one, and the one line the console gets.
//
// Usage:
//   v1::ConsumeSummary run;
//   AccumulateSummary(stream_summary, &run);  // after each stream
//   std::cout << FormatSummary(run) << std::endl;
#ifndef PRODUCER_SERVICE_RUN_SUMMARY_H_
#define PRODUCER_SERVICE_RUN_SUMMARY_H_

#include <string>

#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

// Adds one stream's summary to the run's: counts and durations add up, the
// sequences span from the first stream's first to the last one's last.
void AccumulateSummary(const v1::ConsumeSummary& stream,
                       v1::ConsumeSummary* run);

// One line describing the consumer's summary, for the console.
std::string FormatSummary(const v1::ConsumeSummary& summary);

}  // namespace messaging

#endif  // PRODUCER_SERVICE_RUN_SUMMARY_H_
