#include "consumer_service/log_commands.h"

#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "consumer_service/log_directory.h"
#include "consumer_service/log_formats.pb.h"
#include "consumer_service/log_reader.h"
#include "consumer_service/log_scan.h"
#include "consumer_service/producer_snapshot.h"
#include "google/protobuf/util/json_util.h"

namespace messaging {
namespace {

std::string ToJson(const v1::Mensaje& message, uint64_t offset) {
  consumer::v1::LoggedMessage line;
  line.set_offset(offset);
  line.set_producer_id(message.producer_id());
  line.set_sequence(message.sequence());
  line.set_text(message.text());
  line.set_payload(message.payload());
  if (message.has_created_at()) {
    *line.mutable_created_at() = message.created_at();
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  // Cannot fail: the message has no Any or other type to resolve.
  (void)google::protobuf::util::MessageToJsonString(line, &json, options);
  return json;
}

// One producer's records, as verify sees them.
struct ProducerRange {
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  uint64_t count = 0;
  uint64_t first_offset = 0;
  uint64_t last_offset = 0;
};

// The bytes of `path` from `from` to its end.
std::string ReadFrom(const std::string& path, uint64_t from) {
  std::ifstream file(path, std::ios::binary);
  file.seekg(static_cast<std::streamoff>(from));
  std::stringstream rest;
  rest << file.rdbuf();
  return rest.str();
}

}  // namespace

absl::Status RunCat(const CatOptions& options, std::ostream& out) {
  LogReader reader(options.data_dir, options.from_offset);
  while (true) {
    absl::StatusOr<uint64_t> end =
        reader.ReadAvailable([&](const v1::Mensaje& message, uint64_t offset) {
          if (offset < options.from_offset) return;
          if (!options.producer_id.empty() &&
              message.producer_id() != options.producer_id) {
            return;
          }
          out << ToJson(message, offset) << "\n";
        });
    if (!end.ok()) return end.status();
    out.flush();
    if (!options.follow) return absl::OkStatus();
    absl::SleepFor(options.poll_interval);
  }
}

absl::Status RunVerify(const std::string& data_dir, std::ostream& out) {
  std::map<std::string, ProducerRange> producers;
  std::optional<absl::Status> problem;
  std::optional<uint64_t> first_offset;
  LogReader reader(data_dir, 0);
  absl::StatusOr<uint64_t> end =
      reader.ReadAvailable([&](const v1::Mensaje& message, uint64_t offset) {
        if (!first_offset.has_value()) first_offset = offset;
        auto [found, added] = producers.try_emplace(message.producer_id());
        ProducerRange& range = found->second;
        if (!added && message.sequence() != range.last_sequence + 1 &&
            !problem.has_value()) {
          problem = absl::DataLossError(absl::StrCat(
              "producer '", message.producer_id(), "': sequence ",
              message.sequence(), " at offset ", offset,
              message.sequence() <= range.last_sequence ? " repeats one"
                                                        : " leaves a gap",
              " after sequence ", range.last_sequence, " at offset ",
              range.last_offset));
        }
        if (added) {
          range.first_sequence = message.sequence();
          range.first_offset = offset;
        }
        range.last_sequence = message.sequence();
        range.last_offset = offset;
        ++range.count;
      });
  if (!end.ok()) return end.status();
  for (const auto& [producer_id, range] : producers) {
    out << "producer '" << producer_id << "': sequences "
        << range.first_sequence << " to " << range.last_sequence << " ("
        << range.count << " messages), offsets " << range.first_offset << " to "
        << range.last_offset << "\n";
  }
  if (problem.has_value()) return *problem;
  // After the active segment's last whole record: a record being written
  // (or torn by a crash, cut at the next start) is fine; damage is not.
  const std::string tail =
      ReadFrom(reader.segment_path(), reader.segment_bytes_read());
  if (!tail.empty()) {
    const TailVerdict verdict = ClassifyTail(tail);
    if (!verdict.torn) {
      return absl::DataLossError(
          absl::StrCat(reader.segment_path(), " has a corrupt record at byte ",
                       reader.segment_bytes_read(), " (", verdict.reason, ")"));
    }
    out << tail.size() << " bytes of a last record being written or torn "
        << "at byte " << reader.segment_bytes_read() << " of "
        << reader.segment_path() << "\n";
  }
  absl::StatusOr<LogDirectory> files = ListLogDirectory(data_dir);
  if (!files.ok()) return files.status();
  for (const uint64_t offset : files->snapshots) {
    absl::StatusOr<consumer::v1::ProducerStateSnapshot> snapshot =
        ReadSnapshotFile(data_dir, offset);
    if (!snapshot.ok()) return snapshot.status();
  }
  out << "ok: offsets " << first_offset.value_or(*end) << " to " << *end
      << " in " << files->segments.size() << " segments, " << producers.size()
      << " producers, " << files->snapshots.size() << " snapshots\n";
  return absl::OkStatus();
}

}  // namespace messaging
