// A NATS JetStream publisher for //benchmarks' peer rows: connects to a
// nats-server with JetStream on, creates a new file-storage stream on one
// subject, publishes --messages messages of --payload_bytes bytes with
// js_PublishAsync (at most --max_pending unacknowledged), waits for every
// ack, checks the stream holds --messages messages and prints one JSON line.
// With --dedup each message carries a unique Nats-Msg-Id, which the server
// checks against the stream's duplicate window (JetStream's default, 2 min).
//
// Not a Bazel target, so that `bazel test //...` needs no libnats-dev: the
// harness (benchmarks/peers.py) compiles it when the headers are installed.
//
//   cc -O2 -o /tmp/pub nats_jetstream_publisher.c -lnats
//   /tmp/pub --url=nats://127.0.0.1:4222 --messages=100000 --dedup
//
// Exits 0 after printing the JSON line; 1, with one line on stderr saying
// what failed, if anything did; 2 on bad arguments.

#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM "BENCH"
#define SUBJECT "bench.peer"

struct Flags {
  const char* url;
  long long messages;
  long long payload_bytes;
  long long max_pending;
  int dedup;
};

static int ParseFlags(int argc, char** argv, struct Flags* flags) {
  flags->url = NULL;
  flags->messages = 0;
  flags->payload_bytes = 64;
  flags->max_pending = 4096;
  flags->dedup = 0;
  for (int i = 1; i < argc; i++) {
    const char* arg = argv[i];
    if (strncmp(arg, "--url=", 6) == 0) {
      flags->url = arg + 6;
    } else if (strncmp(arg, "--messages=", 11) == 0) {
      flags->messages = atoll(arg + 11);
    } else if (strncmp(arg, "--payload_bytes=", 16) == 0) {
      flags->payload_bytes = atoll(arg + 16);
    } else if (strncmp(arg, "--max_pending=", 14) == 0) {
      flags->max_pending = atoll(arg + 14);
    } else if (strcmp(arg, "--dedup") == 0) {
      flags->dedup = 1;
    } else {
      return 0;
    }
  }
  return flags->url != NULL && flags->messages > 0 &&
         flags->payload_bytes >= 0 && flags->max_pending > 0;
}

static double Now(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

// Counts the publishes the server refused or that timed out; each one also
// leaves the stream short, which the final count check reports.
static void OnPublishError(jsCtx* js, jsPubAckErr* pae, void* closure) {
  (void)js;
  long long* errors = closure;
  if ((*errors)++ == 0) {
    fprintf(stderr, "nats_jetstream_publisher: first failed publish: %s (%d)\n",
            pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err),
            (int)pae->ErrCode);
  }
}

static int Fail(const char* what, natsStatus s) {
  fprintf(stderr, "nats_jetstream_publisher: %s: %s\n", what,
          natsStatus_GetText(s));
  return 1;
}

static int Run(const struct Flags* flags, natsConnection* nc) {
  long long errors = 0;
  jsOptions options;
  jsOptions_Init(&options);
  options.PublishAsync.MaxPending = flags->max_pending;
  options.PublishAsync.ErrHandler = OnPublishError;
  options.PublishAsync.ErrHandlerClosure = &errors;
  // A full window blocks the next publish until acks come; on a slow disk
  // that can take longer than the 200 ms default before it gives up.
  options.PublishAsync.StallWait = 10000;
  jsCtx* js = NULL;
  natsStatus s = natsConnection_JetStream(&js, nc, &options);
  if (s != NATS_OK) return Fail("cannot get a JetStream context", s);

  const char* subjects[] = {SUBJECT};
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = STREAM;
  config.Subjects = subjects;
  config.SubjectsLen = 1;
  config.Storage = js_FileStorage;
  jsErrCode jerr = 0;
  // A new stream, so that the count checked at the end is this run's alone.
  s = js_DeleteStream(js, STREAM, NULL, &jerr);
  if (s != NATS_OK && s != NATS_NOT_FOUND) {
    jsCtx_Destroy(js);
    return Fail("cannot delete the old stream " STREAM, s);
  }
  s = js_AddStream(NULL, js, &config, NULL, &jerr);
  if (s != NATS_OK) {
    jsCtx_Destroy(js);
    return Fail("cannot create the file-storage stream " STREAM, s);
  }

  char* payload = calloc(1, (size_t)flags->payload_bytes + 1);
  memset(payload, 'x', (size_t)flags->payload_bytes);
  char msg_id[32];
  jsPubOptions publish;
  jsPubOptions_Init(&publish);
  double start = Now();
  for (long long i = 0; i < flags->messages && s == NATS_OK; i++) {
    if (flags->dedup) {
      snprintf(msg_id, sizeof(msg_id), "m-%lld", i);
      publish.MsgId = msg_id;
    }
    s = js_PublishAsync(js, SUBJECT, payload, (int)flags->payload_bytes,
                        flags->dedup ? &publish : NULL);
  }
  free(payload);
  if (s != NATS_OK) {
    jsCtx_Destroy(js);
    return Fail("js_PublishAsync failed", s);
  }
  jsPubOptions complete;
  jsPubOptions_Init(&complete);
  complete.MaxWait = 120000;
  s = js_PublishAsyncComplete(js, &complete);
  double seconds = Now() - start;
  if (s != NATS_OK) {
    jsCtx_Destroy(js);
    return Fail("waiting for the acks (js_PublishAsyncComplete)", s);
  }

  jsStreamInfo* info = NULL;
  s = js_GetStreamInfo(&info, js, STREAM, NULL, &jerr);
  jsCtx_Destroy(js);
  if (s != NATS_OK) return Fail("cannot read the stream's info", s);
  unsigned long long stored = (unsigned long long)info->State.Msgs;
  jsStreamInfo_Destroy(info);
  if (errors != 0 || stored != (unsigned long long)flags->messages) {
    fprintf(stderr,
            "nats_jetstream_publisher: the stream holds %llu messages, "
            "expected %lld (%lld publishes failed)\n",
            stored, flags->messages, errors);
    return 1;
  }
  printf(
      "{\"messages\": %lld, \"seconds\": %.6f, \"messages_per_second\": %.1f, "
      "\"dedup\": %s}\n",
      flags->messages, seconds, (double)flags->messages / seconds,
      flags->dedup ? "true" : "false");
  return 0;
}

int main(int argc, char** argv) {
  struct Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    fprintf(stderr,
            "usage: nats_jetstream_publisher --url=nats://HOST:PORT "
            "--messages=N (>= 1) [--payload_bytes=S] [--max_pending=K] "
            "[--dedup]\n");
    return 2;
  }
  natsConnection* nc = NULL;
  natsStatus s = natsConnection_ConnectTo(&nc, flags.url);
  if (s != NATS_OK) return Fail(flags.url, s);
  int code = Run(&flags, nc);
  natsConnection_Destroy(nc);
  nats_Close();
  return code;
}
