// Producer-state snapshot files: the de-duplication state of every producer
// as of one log offset, so that start-up restores it instead of replaying
// the whole log, and so that it outlives the segments retention deletes.
//
// A snapshot is written atomically (temporary file, fdatasync, rename,
// directory fsync) and checked by CRC-32C when read; a damaged or
// half-written one is never mistaken for a good one.
//
// Usage:
//   consumer::v1::ProducerStateSnapshot snapshot;
//   snapshot.set_offset(1048576);
//   absl::Status written = WriteSnapshotFile(directory, snapshot, ops);
//   absl::StatusOr<consumer::v1::ProducerStateSnapshot> read =
//       ReadSnapshotFile(directory, 1048576);
#ifndef CONSUMER_SERVICE_PRODUCER_SNAPSHOT_H_
#define CONSUMER_SERVICE_PRODUCER_SNAPSHOT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "consumer_service/log_file_ops.h"
#include "consumer_service/log_formats.pb.h"

namespace messaging {

// Writes SnapshotPath(directory, snapshot.offset()) durably. On failure
// nothing is left but an older snapshot of the same name, if any.
absl::Status WriteSnapshotFile(
    const std::string& directory,
    const consumer::v1::ProducerStateSnapshot& snapshot, LogFileOps& ops);

// DATA_LOSS (naming the file and what is wrong) unless the snapshot of
// `offset` is whole and describes that offset.
absl::StatusOr<consumer::v1::ProducerStateSnapshot> ReadSnapshotFile(
    const std::string& directory, uint64_t offset);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_PRODUCER_SNAPSHOT_H_
