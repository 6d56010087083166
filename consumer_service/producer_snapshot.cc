#include "consumer_service/producer_snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "consumer_service/log_directory.h"
#include "consumer_service/log_record.h"

namespace messaging {
namespace {

// Tells a snapshot from any other file, and its format's version.
constexpr absl::string_view kMagic = "CSNAPv1\n";

absl::Status WriteAndSync(int fd, const std::string& path,
                          absl::string_view data, LogFileOps& ops) {
  for (size_t done = 0; done < data.size();) {
    const ssize_t n = ops.Pwrite(fd, data.data() + done, data.size() - done,
                                 static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  if (ops.Fdatasync(fd) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot sync ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteSnapshotFile(
    const std::string& directory,
    const consumer::v1::ProducerStateSnapshot& snapshot, LogFileOps& ops) {
  const std::string path = SnapshotPath(directory, snapshot.offset());
  const std::string temporary = path + ".tmp";
  std::string contents(kMagic);
  AppendRecord(snapshot.SerializeAsString(), &contents);
  const int fd =
      open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", temporary, ": ", std::strerror(errno)));
  }
  absl::Status written = WriteAndSync(fd, temporary, contents, ops);
  close(fd);
  if (written.ok() && rename(temporary.c_str(), path.c_str()) != 0) {
    written = absl::UnavailableError(
        absl::StrCat("cannot rename ", temporary, ": ", std::strerror(errno)));
  }
  if (!written.ok()) {
    unlink(temporary.c_str());
    return written;
  }
  return SyncDirectory(directory);
}

absl::StatusOr<consumer::v1::ProducerStateSnapshot> ReadSnapshotFile(
    const std::string& directory, uint64_t offset) {
  const std::string path = SnapshotPath(directory, offset);
  std::ifstream file(path, std::ios::binary);
  std::stringstream buffer;
  buffer << file.rdbuf();
  if (!file) {
    return absl::DataLossError(absl::StrCat("cannot read ", path));
  }
  const std::string contents = buffer.str();
  absl::string_view payload;
  size_t record_size = 0;
  consumer::v1::ProducerStateSnapshot snapshot;
  if (!absl::StartsWith(contents, kMagic) ||
      DecodeRecord(absl::string_view(contents).substr(kMagic.size()), &payload,
                   &record_size) != DecodeResult::kRecord ||
      kMagic.size() + record_size != contents.size() ||
      !snapshot.ParseFromArray(payload.data(),
                               static_cast<int>(payload.size()))) {
    return absl::DataLossError(
        absl::StrCat(path, " is damaged (bad header, checksum or length)"));
  }
  if (snapshot.offset() != offset) {
    return absl::DataLossError(absl::StrCat(path, " describes offset ",
                                            snapshot.offset(),
                                            ", not the one in its name"));
  }
  return snapshot;
}

}  // namespace messaging
