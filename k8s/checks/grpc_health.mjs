// Asks grpc.health.v1.Health/Check, what the manifests' grpc probes ask
// (podman kube play ignores probes, so podman_smoke.sh asks itself), and
// waits until the answer is the expected status.
//
//   node grpc_health.mjs [--service NAME] [--expect SERVING] [--wait SECONDS] HOST:PORT
// Exit 0 when the expected status was seen, 1 otherwise. HOST must be a
// loopback address: the smoke test talks to nothing else.
import * as grpc from "@grpc/grpc-js";
import { parseArgs } from "node:util";

const STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

const { values, positionals } = parseArgs({
  options: {
    service: { type: "string", default: "" },
    expect: { type: "string", default: "SERVING" },
    wait: { type: "string", default: "0" },
  },
  allowPositionals: true,
});
const address = positionals[0] ?? "";
if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(address)) {
  console.error("usage: node grpc_health.mjs [--service NAME] [--expect STATUS] [--wait SECONDS] 127.0.0.1:PORT");
  process.exit(2);
}

// HealthCheckRequest { string service = 1; } and HealthCheckResponse
// { ServingStatus status = 1; }, encoded by hand: no .proto file needed.
function encodeRequest(service) {
  const bytes = Buffer.from(service, "utf8");
  if (bytes.length === 0) return Buffer.alloc(0);
  if (bytes.length > 127) throw new Error("service name too long");
  return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}
function decodeResponse(buffer) {
  let status = 0;
  for (let i = 0; i < buffer.length; ) {
    const tag = buffer[i++];
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = buffer[i++];
      value |= (byte & 0x7f) << shift;
      if (!(byte & 0x80)) break;
    }
    if (tag === 0x08) status = value;
  }
  return STATUS[status] ?? `status ${status}`;
}

const client = new grpc.Client(address, grpc.credentials.createInsecure());
function check() {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      encodeRequest,
      decodeResponse,
      values.service,
      { deadline: Date.now() + 2000 },
      (error, status) => resolve(error ? `error: ${error.details || error.message}` : status),
    );
  });
}

const deadline = Date.now() + Number(values.wait) * 1000;
let answer;
for (;;) {
  answer = await check();
  if (answer === values.expect || Date.now() >= deadline) break;
  await new Promise((r) => setTimeout(r, 500));
}
client.close();
console.log(`grpc.health.v1 ${address} service "${values.service}": ${answer}`);
process.exit(answer === values.expect ? 0 : 1);
