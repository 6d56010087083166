// Asks a consumer where a producer id stands
// (messaging.v1.ConsumerService/GetProducerState), the question
// producer_service asks before each stream to know where to resume. Used by
// podman_smoke.sh to see which consumer replica holds which producer's
// state, before and after a restart.
//
//   node grpc_producer_state.mjs --producer_id ID HOST:PORT
// Prints "known=<true|false> next_sequence=<n>" and exits 0; exits 1 when
// the call fails. HOST must be a loopback address: the smoke test talks to
// nothing else.
import * as grpc from "@grpc/grpc-js";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  options: { producer_id: { type: "string" } },
  allowPositionals: true,
});
const address = positionals[0] ?? "";
if (!values.producer_id || !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(address)) {
  console.error("usage: node grpc_producer_state.mjs --producer_id ID 127.0.0.1:PORT");
  process.exit(2);
}

// GetProducerStateRequest { string producer_id = 1; } and ProducerState
// { string producer_id = 1; bool known = 2; uint64 next_sequence = 3; }
// (protos/messaging/v1/messaging.proto), encoded by hand: no .proto file
// needed.
function encodeRequest(producerId) {
  const bytes = Buffer.from(producerId, "utf8");
  if (bytes.length > 127) throw new Error("producer id too long");
  return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}
function decodeResponse(buffer) {
  const state = { known: false, next_sequence: 0n };
  let i = 0;
  const varint = () => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = buffer[i++];
      value |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
  };
  while (i < buffer.length) {
    const tag = Number(varint());
    const [field, wire] = [tag >> 3, tag & 7];
    if (wire === 0) {
      const value = varint();
      if (field === 2) state.known = value !== 0n;
      if (field === 3) state.next_sequence = value;
    } else if (wire === 2) {
      const length = Number(varint()); // before "i +=", which reads i first
      i += length;
    } else {
      throw new Error(`unexpected wire type ${wire}`);
    }
  }
  return state;
}

const client = new grpc.Client(address, grpc.credentials.createInsecure());
client.makeUnaryRequest(
  "/messaging.v1.ConsumerService/GetProducerState",
  encodeRequest,
  decodeResponse,
  values.producer_id,
  { deadline: Date.now() + 5000 },
  (error, state) => {
    client.close();
    if (error) {
      console.log(`error: ${error.details || error.message}`);
      process.exit(1);
    }
    console.log(`known=${state.known} next_sequence=${state.next_sequence}`);
    process.exit(0);
  },
);
