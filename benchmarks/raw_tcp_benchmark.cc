// The ceiling under //benchmarks' in-memory rows: raw length-prefixed
// frames over one loopback TCP connection, with nothing on top (no framing
// beyond a 4-byte length, no acks, no log). One binary, two processes:
//
//   raw_tcp_benchmark --mode=receive        # prints "listening on PORT"
//   raw_tcp_benchmark --mode=send --port=PORT --messages=1000000 \
//       --payload_bytes=64
//
// The receiver accepts one connection, reads big-endian 4-byte-length
// prefixed frames until the sender half-closes, answers with the frames and
// payload bytes it read (two 8-byte big-endian counts) and exits. The sender
// writes its frames through a 64 KiB userspace buffer (one write(2) per
// buffer, as any sender that is not syscall-bound does), half-closes, waits
// for the count, checks it and prints one JSON line: {messages, seconds,
// messages_per_second}. Either side exits 1 with one line on stderr on a
// connection error or a count that is not what was sent; 2 on bad flags.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"

ABSL_FLAG(std::string, mode, "", "receive or send");
ABSL_FLAG(int, port, 0, "send: the receiver's port on 127.0.0.1");
ABSL_FLAG(int64_t, messages, 1000000, "send: frames to send");
ABSL_FLAG(int64_t, payload_bytes, 64, "send: payload bytes per frame");

namespace {

constexpr size_t kBufferBytes = 64 << 10;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "raw_tcp_benchmark: %s: %s\n", what.c_str(),
               errno ? std::strerror(errno) : "unexpected end of stream");
  std::exit(1);
}

void WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Die("write");
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// Reads a stream through a 64 KiB buffer, as the sender writes it: frames
// are taken out of each read(2), not read a syscall at a time.
class BufferedReader {
 public:
  explicit BufferedReader(int fd) : fd_(fd), buffer_(kBufferBytes) {}

  // Takes the next `size` bytes, copied to `out` unless it is null; false at
  // a clean end of stream before the first of them.
  bool Take(size_t size, char* out) {
    for (size_t taken = 0; taken < size;) {
      if (start_ == end_ && !Fill()) {
        if (taken == 0) return false;
        errno = 0;
        Die("read: a frame cut short");
      }
      size_t here = std::min(size - taken, end_ - start_);
      if (out != nullptr) std::memcpy(out + taken, &buffer_[start_], here);
      start_ += here;
      taken += here;
    }
    return true;
  }

 private:
  bool Fill() {
    ssize_t n;
    do {
      n = read(fd_, buffer_.data(), buffer_.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) Die("read");
    start_ = 0;
    end_ = static_cast<size_t>(n);
    return n > 0;
  }

  int fd_;
  std::vector<char> buffer_;
  size_t start_ = 0;
  size_t end_ = 0;
};

void PutUint64(char* out, uint64_t value) {
  for (int i = 7; i >= 0; --i, value >>= 8) out[i] = static_cast<char>(value);
}

uint64_t GetUint64(const char* in) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = value << 8 | static_cast<uint8_t>(in[i]);
  return value;
}

int RunReceive() {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (listener < 0 ||
      bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length)) {
    Die("cannot listen on 127.0.0.1:0");
  }
  std::printf("listening on %d\n", ntohs(address.sin_port));
  std::fflush(stdout);
  int fd = accept(listener, nullptr, nullptr);
  if (fd < 0) Die("accept");
  close(listener);

  BufferedReader reader(fd);
  uint64_t frames = 0, bytes = 0;
  char prefix[4];
  while (reader.Take(sizeof(prefix), prefix)) {
    uint32_t length;
    std::memcpy(&length, prefix, sizeof(length));
    length = ntohl(length);
    if (length > 0 && !reader.Take(length, nullptr)) {
      errno = 0;
      Die("read: a frame cut short");
    }
    ++frames;
    bytes += length;
  }
  char answer[16];
  PutUint64(answer, frames);
  PutUint64(answer + 8, bytes);
  WriteAll(fd, answer, sizeof(answer));
  close(fd);
  return 0;
}

int RunSend(int port, int64_t messages, int64_t payload_bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto start = std::chrono::steady_clock::now();
  if (fd < 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address))) {
    Die("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  const std::string payload(static_cast<size_t>(payload_bytes), 'x');
  uint32_t prefix = htonl(static_cast<uint32_t>(payload_bytes));
  std::vector<char> buffer;
  buffer.reserve(kBufferBytes);
  for (int64_t i = 0; i < messages; ++i) {
    if (buffer.size() + 4 + payload.size() > kBufferBytes && !buffer.empty()) {
      WriteAll(fd, buffer.data(), buffer.size());
      buffer.clear();
    }
    const char* p = reinterpret_cast<const char*>(&prefix);
    buffer.insert(buffer.end(), p, p + 4);
    buffer.insert(buffer.end(), payload.begin(), payload.end());
  }
  WriteAll(fd, buffer.data(), buffer.size());
  if (shutdown(fd, SHUT_WR) != 0) Die("shutdown");
  char answer[16];
  BufferedReader reader(fd);
  if (!reader.Take(sizeof(answer), answer)) {
    errno = 0;
    Die("the receiver closed without its count");
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  close(fd);
  uint64_t frames = GetUint64(answer), bytes = GetUint64(answer + 8);
  uint64_t sent_bytes = static_cast<uint64_t>(messages * payload_bytes);
  if (frames != static_cast<uint64_t>(messages) || bytes != sent_bytes) {
    std::fprintf(stderr,
                 "raw_tcp_benchmark: the receiver read %llu frames of %llu "
                 "payload bytes, but %lld frames of %llu bytes were sent\n",
                 static_cast<unsigned long long>(frames),
                 static_cast<unsigned long long>(bytes),
                 static_cast<long long>(messages),
                 static_cast<unsigned long long>(sent_bytes));
    return 1;
  }
  std::printf(
      "{\"messages\": %lld, \"seconds\": %.6f, \"messages_per_second\": "
      "%.1f}\n",
      static_cast<long long>(messages), seconds, messages / seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  const int port = absl::GetFlag(FLAGS_port);
  const int64_t messages = absl::GetFlag(FLAGS_messages);
  const int64_t payload_bytes = absl::GetFlag(FLAGS_payload_bytes);
  if (mode == "receive") return RunReceive();
  if (mode == "send" && port > 0 && port < 65536 && messages >= 1 &&
      payload_bytes >= 0 && payload_bytes + 4 <= int64_t{kBufferBytes}) {
    return RunSend(port, messages, payload_bytes);
  }
  std::fprintf(stderr,
               "raw_tcp_benchmark: --mode=receive, or --mode=send with "
               "--port in 1..65535, --messages >= 1 and --payload_bytes in "
               "0..%zu\n",
               kBufferBytes - 4);
  return 2;
}
